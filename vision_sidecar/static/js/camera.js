// The camera: off until the shopper turns it on; then getUserMedia → canvas → JPEG frames over the
// sidecar's WebSocket (/ws/frames?session=…) at most `maxFps` a second, with at most two frames
// in flight; each reply {seq, faces, dominant, probs, valence} updates the live mood indicator.
import { EMOJI } from "./util.js";

const FRAME_WIDTH = 320;
const JPEG_QUALITY = 0.7;
const MAX_IN_FLIGHT = 2;

export class Camera {
  constructor({ maxFps = 10, onReading = () => {} } = {}) {
    this.interval = 1000 / Math.min(10, Math.max(1, maxFps));
    this.onReading = onReading;
    this.toggle = document.getElementById("camera-toggle");
    this.video = document.getElementById("camera-video");
    this.state = document.getElementById("camera-state");
    this.error = document.getElementById("camera-error");
    this.moodFace = document.getElementById("mood-face");
    this.moodLabel = document.getElementById("mood-label");
    this.moodBar = document.getElementById("mood-bar-fill");
    this.canvas = document.createElement("canvas");
    this.stream = null;
    this.ws = null;
    this.timer = null;
    this.inFlight = 0;
    this.sent = 0;
    this.replies = 0;
    this.sessionId = null;
    this.toggle.addEventListener("click", () => (this.stream ? this.stop() : this.start()));
  }

  setSession(sessionId) {
    if (this.sessionId !== sessionId) this.stop();
    this.sessionId = sessionId;
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
    if (!this.sessionId) return;
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
    await this.video.play().catch(() => {});
    document.getElementById("mood").hidden = false;
    this.toggle.setAttribute("aria-pressed", "true");
    this.toggle.textContent = "Turn camera off";
    this.connect();
  }

  connect() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const url = `${scheme}//${location.host}/ws/frames?session=${encodeURIComponent(this.sessionId)}`;
    const ws = new WebSocket(url);
    ws.binaryType = "arraybuffer";
    this.ws = ws;
    this.inFlight = 0;
    ws.onopen = () => {
      this.setState("on");
      this.timer = setInterval(() => this.capture(), this.interval);
    };
    ws.onmessage = (event) => {
      this.inFlight = Math.max(0, this.inFlight - 1);
      let reading;
      try {
        reading = JSON.parse(event.data);
      } catch {
        return;
      }
      this.replies += 1;
      if (reading.error) {
        this.showError(`The mood service says: ${reading.error.message || reading.error}`);
        return;
      }
      if (!reading.dropped) this.showReading(reading);
    };
    ws.onclose = () => {
      clearInterval(this.timer);
      this.timer = null;
      if (this.ws === ws && this.stream) {
        // The sidecar went away: keep the camera consent, try again shortly.
        this.setState("reconnecting…");
        setTimeout(() => this.stream && this.ws === ws && this.connect(), 1500);
      }
    };
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
    this.inFlight += 1;
    this.canvas.toBlob((blob) => {
      if (blob && ws.readyState === WebSocket.OPEN) {
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
    if (!faces || !reading.dominant) {
      mood.dataset.mood = "none";
      this.moodFace.textContent = "·";
      this.moodLabel.textContent = "no face in view";
      this.moodBar.style.width = "0%";
      return;
    }
    const valence = Number(reading.valence || 0);
    const p = reading.probs && reading.probs[reading.dominant];
    mood.dataset.mood = reading.dominant;
    this.moodFace.textContent = EMOJI[reading.dominant] || "🙂";
    this.moodLabel.textContent = `${reading.dominant}${p ? ` ${Math.round(p * 100)}%` : ""}`;
    this.moodBar.style.width = `${Math.round(((valence + 1) / 2) * 100)}%`;
    this.moodBar.dataset.sign = valence >= 0 ? "positive" : "negative";
    this.onReading(reading);
  }

  /** Stop sending, close the socket and release the camera (its light goes off). */
  stop() {
    clearInterval(this.timer);
    this.timer = null;
    const ws = this.ws;
    this.ws = null;
    if (ws) ws.close();
    if (this.stream) for (const track of this.stream.getTracks()) track.stop();
    this.stream = null;
    this.video.srcObject = null;
    this.video.hidden = true;
    document.getElementById("mood").hidden = true;
    this.toggle.setAttribute("aria-pressed", "false");
    this.toggle.textContent = "Turn camera on";
    this.setState("off");
  }
}
