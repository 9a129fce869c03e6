"""Expression backends: a face crop batch in, probabilities over the 8 shared labels out.

`make_backend(settings)` builds the configured one: `local` (the EMOTICAL_EXPRESSION_MODEL
through onnxruntime) or `rekognition` (AWS, budgeted per session and in all, on its own threads
with short timeouts, the local model filling the gaps).
"""

from __future__ import annotations

from vision_sidecar.expression.base import ExpressionBackend, FaceJob, RemoteReader
from vision_sidecar.settings import Settings


def make_backend(settings: Settings) -> ExpressionBackend:
    """The backend `settings.backend` names, ready to classify."""
    from vision_sidecar.expression.local import LocalOnnxBackend

    local = LocalOnnxBackend(settings.model_path, temperature=settings.temperature,
                             model=settings.expression)
    if settings.backend == "local":
        return local
    import boto3
    from botocore.config import Config

    from vision_sidecar.expression.rekognition import CLIENT_CONFIG, RekognitionBackend

    client = boto3.client("rekognition", region_name=settings.aws_region,
                          config=Config(**CLIENT_CONFIG))
    return RekognitionBackend(client, local, settings.rekognition_per_minute,
                              settings.rekognition_global_per_minute)


__all__ = ["ExpressionBackend", "FaceJob", "RemoteReader", "make_backend"]
