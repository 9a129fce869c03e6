// face-api's own expression net (its dist bundle, tfjs CPU backend) on raw pixels, for the
// port check in test_faceapi.py. Usage: node faceapi_reference.cjs PACKAGE_DIR PIXELS.f32 N
// PIXELS.f32: N x 112 x 112 x 3 float32 little-endian, RGB 0-255. Prints the N x 7 rows as JSON.
'use strict';
const fs = require('fs');
const path = require('path');
const util = require('util');

const [pkg, pixelsPath, count] = process.argv.slice(2);
// The bundle stubs out node's `util`, so its node platform cannot start: hide `process` from
// it and give tfjs a platform of our own (the CPU backend needs nothing else).
const source = fs.readFileSync(path.join(pkg, 'dist', 'face-api.js'), 'utf8');
const faceapi = new Function('process', `${source}\nreturn faceapi;`)(undefined);
const tf = faceapi.tf;
tf.env().setPlatform('emotical-check', {
  fetch: (url, init) => fetch(url, init),
  now: () => performance.now(),
  encode: (text) => new util.TextEncoder().encode(text),
  decode: (bytes, encoding) => new util.TextDecoder(encoding).decode(bytes),
  isTypedArray: (a) => util.types.isTypedArray(a),
});
class Stub {}
faceapi.env.setEnv({
  Canvas: Stub, CanvasRenderingContext2D: Stub, Image: Stub, ImageData: Stub, Video: Stub,
  createCanvasElement: () => new Stub(), createImageElement: () => new Stub(),
  createVideoElement: () => new Stub(), fetch: (url, init) => fetch(url, init),
  readFile: (file) => Promise.resolve(fs.readFileSync(file)),
});

(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
  const model = path.join(pkg, 'model');
  const manifest = JSON.parse(fs.readFileSync(path.join(model, 'face_expression_model-weights_manifest.json'), 'utf8'));
  const bin = fs.readFileSync(path.join(model, 'face_expression_model.bin'));
  const weights = tf.io.decodeWeights(bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength), manifest[0].weights);
  const net = new faceapi.FaceExpressionNet();
  net.loadFromWeightMap(weights);
  const raw = fs.readFileSync(pixelsPath);
  const pixels = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
  const n = Number(count);
  const side = 112 * 112 * 3;
  const rows = [];
  for (let i = 0; i < n; i += 1) {
    const face = tf.tensor3d(pixels.subarray(i * side, (i + 1) * side), [112, 112, 3], 'float32');
    const probs = net.forwardInput(await faceapi.toNetInput(face));
    rows.push(Array.from(probs.dataSync()));
    probs.dispose();
    face.dispose();
  }
  process.stdout.write(JSON.stringify(rows));
})().catch((err) => { process.stderr.write(`${err.stack}\n`); process.exit(1); });
