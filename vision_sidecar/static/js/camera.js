// The camera: off until the shopper turns it on; then getUserMedia → canvas → JPEG frames over the
// sidecar's WebSocket `/ws/frames`. The first message proves the session
// ({"type": "auth", "token"}); frames start after the sidecar's {"type": "ready", max_fps}, at
// most `max_fps` a second with at most two in flight; each reply {seq, faces, dominant, probs,
// valence, uncertain} updates the live mood indicator (uncertain: a face, no clear mood) ({dropped: true[, reason: "busy"]} ones are skipped).
// Close codes: 4401 the token is refused (a new session, once), 4403 another session's token,
// 4409 another tab streams this session, 4410 the session was deleted.
// Right before each frame goes the product video's state when it was captured,
// {"type": "video", t, playing, ended}, so the sidecar files the frame under the chapter on
// screen. Each reply's face box (in the sent frame's pixels) and top emotion are drawn over the
// preview (#camera-overlay, mirrored like the preview); nothing is drawn without a face.
import { EMOJI } from "./util.js";
import { Recorder } from "./replay.js";

const FRAME_WIDTH = 320;
const JPEG_QUALITY = 0.7;
const MAX_IN_FLIGHT = 2;
const RECONNECT_MS = 1500;
const CLOSE_REASONS = {
  4403: "The mood service refused this session's camera.",
  4409: "Another tab or window is already streaming the camera for this session. Turn it off there to use it here.",
  4410: "This session was deleted, so the camera stopped. Open a product to start a new session.",
};

/** The consent text's part that names who reads the pictures (from `/api/config`). */
function backendSentence(config) {
  if (config.backend === "rekognition") {
    return "Pictures of your face are sent to AWS Rekognition (Amazon Web Services) a few times a minute"
      + " to read them; the expression model on our server reads the others.";
  }
  if (config.backend === "local" || !config.backend) {
    return "The pictures are read by an expression model on our server; no picture leaves it.";
  }
  return `The pictures are read by ${config.backend_description || config.backend}.`;
}

export class Camera {
  /**
   * @param {object} opts
   * @param {object} opts.config  `/api/config`: max_fps, backend, backend_labels
   * @param {() => Promise<boolean>} opts.onUnauthorized  the token was refused: a new session
   */
  constructor({ config = {}, onReading = () => {}, onUnauthorized = async () => false, videoState = () => null } = {}) {
    this.videoState = videoState;
    this.overlay = document.getElementById("camera-overlay");
    this.frameWidth = 0;
    this.maxFps = config.max_fps || 10;
    this.onReading = onReading;
    this.onUnauthorized = onUnauthorized;
    this.toggle = document.getElementById("camera-toggle");
    this.video = document.getElementById("camera-video");
    this.state = document.getElementById("camera-state");
    this.error = document.getElementById("camera-error");
    this.moodFace = document.getElementById("mood-face");
    this.moodLabel = document.getElementById("mood-label");
    this.moodBar = document.getElementById("mood-bar-fill");
    this.moodSr = document.getElementById("mood-sr");
    this.announced = null;
    this.canvas = document.createElement("canvas");
    this.stream = null;
    this.ws = null;
    this.timer = null;
    this.inFlight = 0;
    this.sent = 0;
    this.replies = 0;
    this.session = null;
    this.renewals = 0;
    this.toggle.addEventListener("click", () => (this.stream ? this.stop() : this.start()));
    const labels = Array.isArray(config.backend_labels) && config.backend_labels.length
      ? config.backend_labels : null;
    if (labels) document.getElementById("camera-consent-labels").textContent = labels.join(", ");
    document.getElementById("camera-consent-backend").textContent = backendSentence(config);
    document.getElementById("camera").dataset.backend = config.backend || "";
  }

  /** The session frames go to ({session_id, session_token}). A session renewed after a refused
   * token keeps a running camera (the shopper's consent stands); any other change stops it. */
  setSession(session) {
    const changed = !this.session || this.session.session_id !== session.session_id;
    this.session = session;
    if (!changed) return;
    if (session.renewed && this.stream) this.connect();
    else this.stop();
  }

  setState(text) {
    this.state.textContent = text;
    document.getElementById("camera-consent-state").textContent = text === "on" ? "on" : "off";
    document.getElementById("camera").dataset.state = text;
  }

  showError(text) {
    this.error.textContent = text;
    this.error.hidden = !text;
  }

  async start() {
    this.showError("");
    if (!this.session) return;
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      this.showError("This browser cannot use a camera here. Chat works without it.");
      return;
    }
    this.setState("asking…");
    try {
      this.stream = await navigator.mediaDevices.getUserMedia({
        video: { width: { ideal: 640 }, height: { ideal: 480 }, facingMode: "user" },
        audio: false,
      });
    } catch (err) {
      this.stream = null;
      this.setState("off");
      const why = err && err.name === "NotAllowedError" ? "Camera permission was refused."
        : err && err.name === "NotFoundError" ? "No camera was found." : `The camera could not start (${err && err.name}).`;
      this.showError(`${why} Chat works without it.`);
      return;
    }
    this.video.srcObject = this.stream;
    this.video.hidden = false;
    if (this.overlay) this.overlay.hidden = false;
    await this.video.play().catch(() => {});
    document.getElementById("mood").hidden = false;
    this.toggle.setAttribute("aria-pressed", "true");
    this.toggle.textContent = "Turn camera off";
    this.renewals = 0;
    this.recorder = new Recorder(this.stream, this.session.session_id);
    this.connect();
  }

  connect() {
    this.disconnect();
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(`${scheme}//${location.host}/ws/frames`);
    ws.binaryType = "arraybuffer";
    this.ws = ws;
    this.inFlight = 0;
    this.setState("connecting…");
    ws.onopen = () => ws.send(JSON.stringify({ type: "auth", token: this.session.session_token }));
    ws.onmessage = (event) => {
      let reading;
      try {
        reading = JSON.parse(event.data);
      } catch {
        return;
      }
      if (reading.type === "ready") {
        this.ready(ws, reading);
        return;
      }
      this.inFlight = Math.max(0, this.inFlight - 1);
      this.replies += 1;
      if (reading.error) {
        this.showError(`The mood service says: ${reading.error.message || reading.error}`);
        return;
      }
      if (!reading.dropped) this.showReading(reading);
    };
    ws.onclose = (event) => this.closed(ws, event.code);
  }

  /** The sidecar accepted the token: send frames at the pace it asks for. */
  ready(ws, message) {
    if (this.ws !== ws) return;
    const fps = Math.min(10, Math.max(1, Number(message.max_fps) || this.maxFps));
    this.renewals = 0;
    this.showError("");
    this.setState("on");
    clearInterval(this.timer);
    this.timer = setInterval(() => this.capture(), 1000 / fps);
  }

  async closed(ws, code) {
    clearInterval(this.timer);
    this.timer = null;
    if (this.ws !== ws || !this.stream) return; // we closed it
    this.ws = null;
    if (code === 4401 && this.renewals < 1) {
      this.renewals += 1;
      this.setState("reconnecting…");
      // A new session (shop.js), whose setSession reconnects this running camera.
      if (await this.onUnauthorized()) return;
    }
    if (code === 4401 || CLOSE_REASONS[code]) {
      const why = CLOSE_REASONS[code] || "The mood service refused this session's token. Reload the page to start a new session.";
      this.stop();
      this.showError(why);
      return;
    }
    // The sidecar went away: keep the camera consent, try again shortly.
    this.setState("reconnecting…");
    setTimeout(() => this.stream && !this.ws && this.connect(), RECONNECT_MS);
  }

  capture() {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN || this.inFlight >= MAX_IN_FLIGHT) return;
    const { videoWidth, videoHeight } = this.video;
    if (!videoWidth || !videoHeight) return;
    const scale = Math.min(1, FRAME_WIDTH / videoWidth);
    this.canvas.width = Math.round(videoWidth * scale);
    this.canvas.height = Math.round(videoHeight * scale);
    this.canvas.getContext("2d").drawImage(this.video, 0, 0, this.canvas.width, this.canvas.height);
    this.frameWidth = this.canvas.width;
    const video = this.videoState();
    this.inFlight += 1;
    this.canvas.toBlob((blob) => {
      if (blob && ws.readyState === WebSocket.OPEN) {
        if (video) ws.send(JSON.stringify({ type: "video", ...video }));
        ws.send(blob);
        this.sent += 1;
      } else {
        this.inFlight = Math.max(0, this.inFlight - 1);
      }
    }, "image/jpeg", JPEG_QUALITY);
  }

  showReading(reading) {
    const mood = document.getElementById("mood");
    const faces = Array.isArray(reading.faces) ? reading.faces.length : Number(reading.faces || 0);
    this.drawOverlay(faces && reading.dominant ? reading : null);
    if (!faces || !reading.dominant) {
      mood.dataset.mood = "none";
      this.moodFace.textContent = "·";
      this.moodLabel.textContent = "no face in view";
      this.moodBar.style.width = "0%"; // CSSOM, which the CSP allows (no style attribute is written)
      this.announce("The camera sees no face.");
      return;
    }
    if (reading.uncertain) {
      // a face, but no label confident enough: say so, never show it as an emotion
      mood.dataset.mood = "uncertain";
      this.moodFace.textContent = "?";
      this.moodLabel.textContent = "face seen, mood not clear";
      this.moodBar.style.width = "50%";
      this.moodBar.dataset.sign = "positive";
      this.announce("The assistant sees your face but cannot read your mood clearly.");
      this.onReading(reading);
      return;
    }
    const valence = Number(reading.valence || 0);
    const p = reading.probs && reading.probs[reading.dominant];
    mood.dataset.mood = reading.dominant;
    this.moodFace.textContent = EMOJI[reading.dominant] || "🙂";
    this.moodLabel.textContent = `${reading.dominant}${p ? ` ${Math.round(p * 100)}%` : ""}`;
    this.moodBar.style.width = `${Math.round(((valence + 1) / 2) * 100)}%`;
    this.moodBar.dataset.sign = valence >= 0 ? "positive" : "negative";
    this.announce(`The assistant reads your mood as ${reading.dominant}.`);
    this.onReading(reading);
  }

  /** The face box of `reading` (sent-frame pixels) scaled onto the preview, mirrored as the
   * preview is, with the top emotion and its probability; a clear canvas for null. */
  drawOverlay(reading) {
    const canvas = this.overlay;
    if (!canvas) return;
    const width = this.video.clientWidth;
    const height = this.video.clientHeight;
    if (canvas.width !== width || canvas.height !== height) {
      canvas.width = width;
      canvas.height = height;
    }
    const ctx = canvas.getContext("2d");
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    canvas.dataset.face = "none";
    const box = reading && Array.isArray(reading.box) ? reading.box.map(Number) : null;
    if (!box || box.length !== 4 || !this.frameWidth || !width) return;
    const s = width / this.frameWidth;
    const [bx, by] = box;
    const w = Math.round(box[2] * s);
    const h = Math.round(box[3] * s);
    const x = Math.round(width - bx * s) - w; // the preview is mirrored (CSS scaleX(-1)), the canvas is not
    const y = Math.round(by * s);
    ctx.lineWidth = 3; // on whole pixels: crisp, not blended
    ctx.strokeStyle = "#00e676";
    ctx.strokeRect(x, y, w, h);
    const p = reading.probs && reading.probs[reading.dominant];
    const label = reading.uncertain ? "mood not clear"
      : `${reading.dominant}${p ? ` ${Math.round(p * 100)}%` : ""}`;
    ctx.font = "bold 12px system-ui, sans-serif";
    const tw = ctx.measureText(label).width + 8;
    const ly = y >= 20 ? y - 20 : y + h + 2;
    ctx.fillStyle = "rgba(0, 0, 0, 0.75)";
    ctx.fillRect(x, ly, tw, 18);
    ctx.fillStyle = "#ffffff";
    ctx.fillText(label, x + 4, ly + 13);
    canvas.dataset.face = JSON.stringify({ x, y, w, h, label });
  }

  /** Tell screen readers (the polite #mood-sr) only when the mood changes: readings come up to
   * ten times a second, the visible indicator is not a live region. */
  announce(text) {
    if (text === this.announced) return;
    this.announced = text;
    this.moodSr.textContent = text;
  }

  disconnect() {
    clearInterval(this.timer);
    this.timer = null;
    const ws = this.ws;
    this.ws = null;
    if (ws) ws.close();
  }

  /** Stop sending, close the socket and release the camera (its light goes off). */
  stop() {
    this.disconnect();
    if (this.recorder) {
      this.recording = this.recorder.stop(); // the shopper's own replay, kept in this browser only
      this.recorder = null;
    }
    if (this.stream) for (const track of this.stream.getTracks()) track.stop();
    this.stream = null;
    this.video.srcObject = null;
    this.video.hidden = true;
    if (this.overlay) {
      this.overlay.hidden = true;
      this.overlay.getContext("2d").clearRect(0, 0, this.overlay.width, this.overlay.height);
    }
    document.getElementById("mood").hidden = true;
    this.announced = null;
    this.moodSr.textContent = "";
    this.toggle.setAttribute("aria-pressed", "false");
    this.toggle.textContent = "Turn camera on";
    this.setState("off");
  }
}
