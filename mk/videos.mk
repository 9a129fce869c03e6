# Product videos: one short VP8 WebM per catalog product, drawn from its chapters by OpenCV
# (vision_sidecar/videos.py) into var/videos/<catalog hash>/; `make setup` runs it too
# (scripts/setup.d/60-videos.sh). docs/videos.md: how to ship a real video instead.

.PHONY: videos

videos: setup ## draw the missing generated product videos (var/videos/<catalog hash>/)
	@OPENCV_LOG_LEVEL=ERROR OPENCV_FFMPEG_LOGLEVEL=8 $(CPU_LOCK) $(VIS_PY) -m vision_sidecar.videos

BENCH_TARGETS += bench-chapters
.PHONY: bench-chapters

bench-chapters: setup ## per-frame cost of the video fields and chapter attribution, paired with/without (client and Redis CPU)
	@$(CPU_LOCK) $(VIS_PY) -m bench.chapters
