// An operator app written against the station.v1 protos alone, with @grpc/grpc-js: it runs one
// Capture with PREVIEW_DELIVERY_PULL and, from the stream's first prompt on, asks for frames
// with GetPreview, one call at a time, until the capture has ended. After the first frame it
// stalls its event loop (a UI freeze) for STALL_MS, between two pulls.
// It prints one JSON line: when the app woke up (resumed_ms, epoch milliseconds), the kinds of
// the Capture stream's events in order, and every pulled frame's sequence, `dropped`, when it
// was captured and its age when the app received it (one machine, one clock).
//
// Usage: node pulled_capture.js ADDRESS TOKEN ENROLLMENT_ID POSITION STALL_MS PREVIEW_FPS TIMEOUT_S
'use strict';
const { enrollmentClient, busyWait } = require('./station_app');

const [address, token, enrollmentId, position, stallMs, previewFps, timeoutS] =
  process.argv.slice(2);
const MAX_PULLS = 2000;
const PULL_WAIT_MS = 1000;
const { client, metadata } = enrollmentClient(address, token);
const deadline = () => Date.now() + (Number(timeoutS) + 30) * 1000;

function getPreview(afterSequence) {
  const request = {
    enrollment_id: enrollmentId,
    position,
    after_sequence: afterSequence,
    wait_ms: PULL_WAIT_MS,
  };
  return new Promise((resolve, reject) => {
    client.GetPreview(request, metadata, { deadline: deadline() }, (error, answer) =>
      error ? reject(error) : resolve(answer),
    );
  });
}

const streamKinds = [];
const frames = [];
let resumedMs = 0;
let captureEnded = false;

async function pullUntilEnded() {
  let after = 0;
  for (let i = 0; i < MAX_PULLS && !captureEnded; i++) {
    const answer = await getPreview(after);
    const received = Date.now();
    captureEnded = answer.capture_ended;
    if (!answer.frame) continue;
    const at = answer.frame.captured_at;
    const capturedMs = Number(at.seconds) * 1000 + Math.floor(at.nanos / 1e6);
    frames.push({
      sequence: answer.frame.sequence,
      dropped: answer.frame.dropped,
      captured_ms: capturedMs,
      age_ms: received - capturedMs,
      size: answer.frame.image.data.length,
    });
    after = answer.frame.sequence;
    if (!resumedMs) {
      busyWait(Number(stallMs));
      resumedMs = Date.now();
    }
  }
}

let pulling = null;
const streamDone = new Promise((resolve, reject) => {
  const call = client.Capture(
    {
      enrollment_id: enrollmentId,
      position,
      preview_fps: Number(previewFps),
      timeout_seconds: Number(timeoutS),
      preview_delivery: 'PREVIEW_DELIVERY_PULL',
    },
    metadata,
    { deadline: deadline() },
  );
  call.on('data', (event) => {
    streamKinds.push(event.event);
    if (!pulling) {
      pulling = pullUntilEnded();
      pulling.catch(() => {}); // reported once the stream is over
    }
  });
  call.on('error', reject);
  call.on('end', resolve);
});

streamDone
  .then(() => pulling)
  .then(() => ({}))
  .catch((error) => ({ error: { code: error.code, details: error.details } }))
  .then((failure) => {
    const report = { resumed_ms: resumedMs, stream: streamKinds, frames };
    console.log(JSON.stringify({ ...report, capture_ended: captureEnded, ...failure }));
    client.close();
  });
