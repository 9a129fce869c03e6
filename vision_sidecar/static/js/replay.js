// The shopper's own replay: while the camera is on, the preview is recorded (MediaRecorder,
// VP8 WebM) into this browser's IndexedDB (database `emotical`, store `recordings`, one record
// per second of video: {session_id, segment (one per camera start), n, started_at, mime, blob}). It is never
// uploaded: no request and no WebSocket message carries it. The report plays it; deleting the
// session (or everything) deletes it.
const DB_NAME = "emotical";
const STORE = "recordings";
const MIME = "video/webm;codecs=vp8";
const TIMESLICE_MS = 1000;

function openDb() {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DB_NAME, 1);
    request.onupgradeneeded = () => {
      const db = request.result;
      if (!db.objectStoreNames.contains(STORE)) {
        db.createObjectStore(STORE, { keyPath: ["session_id", "segment", "n"] }).createIndex("session", "session_id");
      }
    };
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

async function withStore(mode, work) {
  const db = await openDb();
  try {
    return await new Promise((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      let result;
      Promise.resolve(work(tx.objectStore(STORE))).then((r) => { result = r; }, reject);
      tx.oncomplete = () => resolve(result);
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error);
    });
  } finally {
    db.close();
  }
}

const asPromise = (request) => new Promise((resolve, reject) => {
  request.onsuccess = () => resolve(request.result);
  request.onerror = () => reject(request.error);
});

/** Every recorded segment of session `sid`, oldest first: {segment, started_at, mime, chunks}. */
export async function recordings(sid) {
  if (!window.indexedDB) return [];
  const dbs = indexedDB.databases ? await indexedDB.databases().catch(() => []) : [{ name: DB_NAME }];
  if (!dbs.some((d) => d.name === DB_NAME)) return []; // nothing recorded: do not create it
  const rows = await withStore("readonly", (store) => asPromise(store.index("session").getAll(sid)))
    .catch(() => []);
  const segments = new Map();
  for (const row of rows.sort((a, b) => a.segment - b.segment || a.n - b.n)) {
    if (!segments.has(row.segment)) {
      segments.set(row.segment, { segment: row.segment, started_at: row.started_at, mime: row.mime, chunks: [] });
    }
    segments.get(row.segment).chunks.push(row.blob);
  }
  return [...segments.values()];
}

/** Delete session `sid`'s recordings (every session's with `sid` null); the database itself
 * goes once it holds none, so a deleted shopper leaves no trace in this browser. */
export async function deleteRecordings(sid = null) {
  if (!window.indexedDB) return;
  let left = 0;
  if (sid !== null) {
    left = await withStore("readwrite", async (store) => {
      const keys = await asPromise(store.index("session").getAllKeys(sid));
      for (const key of keys) store.delete(key);
      return (await asPromise(store.count())) - keys.length;
    }).catch(() => 0);
  }
  if (left > 0) return;
  await new Promise((resolve) => {
    const request = indexedDB.deleteDatabase(DB_NAME);
    request.onsuccess = request.onerror = request.onblocked = () => resolve();
  });
}

/** Records one camera stream of one session into IndexedDB, a chunk a second. */
export class Recorder {
  constructor(stream, sid) {
    this.sid = sid;
    this.recorder = null;
    this.n = 0;
    this.saving = Promise.resolve();
    if (!window.MediaRecorder || !window.indexedDB || !MediaRecorder.isTypeSupported(MIME)) return;
    this.segment = Date.now();
    this.startedAt = Date.now() / 1000;
    try {
      this.recorder = new MediaRecorder(stream, { mimeType: MIME, videoBitsPerSecond: 300000 });
    } catch {
      this.recorder = null; // no replay, the camera works as before
      return;
    }
    this.recorder.ondataavailable = (event) => {
      if (event.data && event.data.size) this.save(event.data);
    };
    this.recorder.start(TIMESLICE_MS);
  }

  /** Store one chunk (in order: each put waits for the one before). */
  save(blob) {
    const row = { session_id: this.sid, segment: this.segment, n: this.n++, started_at: this.startedAt, mime: MIME, blob };
    this.saving = this.saving.then(() => withStore("readwrite", (store) => store.put(row))).catch(() => {});
    return this.saving;
  }

  /** Stop recording; resolves once the last chunk is stored. */
  stop() {
    const recorder = this.recorder;
    this.recorder = null;
    if (!recorder || recorder.state === "inactive") return Promise.resolve();
    return new Promise((resolve) => {
      recorder.addEventListener("stop", () => setTimeout(() => Promise.resolve(this.saving).then(resolve), 0), { once: true });
      recorder.stop();
    });
  }
}
