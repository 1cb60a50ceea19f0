// An operator app written against the station.v1 protos alone, with @grpc/grpc-js: it runs one
// Capture and, on the first preview frame, stalls its event loop (a UI freeze) for STALL_MS.
// It prints one JSON line: when the app woke up (resumed_ms, epoch milliseconds), and every
// event's kind and, for previews, when the frame was captured, the age at which the app
// received it (receive time minus captured_at: one machine, one clock) and its JPEG's size.
//
// Usage: node stalled_capture.js ADDRESS TOKEN ENROLLMENT_ID POSITION STALL_MS PREVIEW_FPS TIMEOUT_S
'use strict';
const { enrollmentClient, busyWait } = require('./station_app');

const [address, token, enrollmentId, position, stallMs, previewFps, timeoutS] =
  process.argv.slice(2);
const { client, metadata } = enrollmentClient(address, token);

const events = [];
let stalled = false;
let resumedMs = 0;
const call = client.Capture(
  {
    enrollment_id: enrollmentId,
    position,
    preview_fps: Number(previewFps),
    timeout_seconds: Number(timeoutS),
  },
  metadata,
  { deadline: Date.now() + (Number(timeoutS) + 30) * 1000 },
);
call.on('data', (event) => {
  const received = Date.now();
  const kind = event.event;
  const entry = { kind };
  if (kind === 'preview') {
    const at = event.preview.captured_at;
    entry.captured_ms = Number(at.seconds) * 1000 + Math.floor(at.nanos / 1e6);
    entry.age_ms = received - entry.captured_ms;
    entry.size = event.preview.image.data.length;
    entry.sequence = event.preview.sequence;
    entry.dropped = event.preview.dropped;
  } else if (kind === 'result') {
    entry.accepted = event.result.accepted;
    entry.reason = event.result.reason;
  } else {
    entry.instruction = event.prompt.instruction;
  }
  events.push(entry);
  if (kind === 'preview' && !stalled) {
    stalled = true;
    busyWait(Number(stallMs));
    resumedMs = Date.now();
  }
});
call.on('error', (error) => {
  const failure = { code: error.code, details: error.details };
  console.log(JSON.stringify({ resumed_ms: resumedMs, events, error: failure }));
  process.exit(0);
});
call.on('end', () => {
  console.log(JSON.stringify({ resumed_ms: resumedMs, events }));
  client.close();
});
