// One complete enrollment through station.v1 with @grpc/grpc-js, as an operator app makes it.
//
// Against a simulated kit (`rekam serve --simulate --ready-file ready.json`; the `grpc` and
// `control` fields of ready.json, and tokens from `rekam operator add NAME --role operator` and
// `--role supervisor`):
//
//   node docs/examples/enroll.js GRPC_ADDRESS CONTROL_URL OPERATOR_TOKEN SUPERVISOR_TOKEN [SEED]
//
// The same flow as enroll.py: a simulated resident who lost two fingers, one deliberate error
// decoded in English and Bahasa Indonesia, the start (and its retry), every planned position
// (a wrong finger offered once, retried), the two missing fingers as exceptions a supervisor
// approves, completion, and the record watched until the centre's decision. Progress goes to
// stderr, then one JSON line with what happened to stdout.
//
// Needs Node 18+ and `npm install @grpc/grpc-js @grpc/proto-loader protobufjs`; reads the
// .proto files under proto/ (station/v1 and the shipped google/rpc).
'use strict';
const path = require('path');
const { randomUUID } = require('crypto');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');
const protobuf = require('protobufjs');

const PROTO_ROOT = path.resolve(__dirname, '..', '..', 'proto');
const STALE_MS = 200; // a preview older than this shows the operator the past: skip it
const CALLS_PER_POSITION = 6; // bounded: results that used no attempt are retried too
// What the operator sees at the counter: this resident has lost these fingers.
const MISSING_FINGERS = new Set(['POSITION_RIGHT_INDEX', 'POSITION_RIGHT_MIDDLE']);
// Asked for the left index, the resident first offers the left thumb again (one finger behind).
const OFFERED_FIRST = { POSITION_LEFT_INDEX: 'left_thumb' };
const FINAL = new Set([
  'RECORD_STATUS_PRINT_READY_RECORD', 'RECORD_STATUS_DUPLICATE_RECORD',
  'RECORD_STATUS_ADJUDICATE_RECORD', 'RECORD_STATUS_SEARCH_FAILURE_AT_CENTRAL',
  'RECORD_STATUS_DEAD_LETTER',
]);

const definition = protoLoader.loadSync(
  ['station/v1/enrollment.proto', 'station/v1/records.proto'],
  { includeDirs: [PROTO_ROOT], keepCase: true, longs: Number, enums: String, defaults: true,
    oneofs: true },
);
const stationV1 = grpc.loadPackageDefinition(definition).station.v1;
const rpcTypes = protobuf.loadSync(['google/rpc/status.proto', 'google/rpc/error_details.proto']
  .map((name) => path.join(PROTO_ROOT, name)));
const Status = rpcTypes.lookupType('google.rpc.Status');

const say = (text) => process.stderr.write(text + '\n');

// Call metadata: the caller's token, and the language of its sentences ("en", "id").
function auth(token, language = 'en') {
  const metadata = new grpc.Metadata();
  metadata.set('authorization', `Bearer ${token}`);
  metadata.set('accept-language', language);
  return metadata;
}

// A unary call as a promise.
function unary(client, method, request, metadata) {
  return new Promise((resolve, reject) => {
    client[method](request, metadata, (error, answer) => (error ? reject(error) : resolve(answer)));
  });
}

// POST to the simulated kit's control surface (only a simulated kit has one).
async function kitControl(controlUrl, route, body) {
  const answer = await fetch(controlUrl + route, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
  });
  if (!answer.ok) throw new Error(`${route}: HTTP ${answer.status}`);
  return answer.json();
}

// POSITION_LEFT_INDEX -> "left_index": how the kit's control surface names positions.
const positionName = (position) => position.replace(/^POSITION_/, '').toLowerCase();

// A failed call's code, ErrorInfo reason and metadata, and the operator's sentence, decoded
// from the google.rpc.Status in its grpc-status-details-bin trailer.
function explain(error) {
  const out = { code: grpc.status[error.code], reason: '', metadata: {}, message: error.details };
  const [bytes] = error.metadata ? error.metadata.get('grpc-status-details-bin') : [];
  if (!bytes) return out;
  for (const detail of Status.decode(bytes).details) {
    const name = detail.type_url.split('/').pop(); // "google.rpc.ErrorInfo", ...
    const decoded = rpcTypes.lookupType(name).decode(detail.value);
    if (name === 'google.rpc.ErrorInfo') {
      out.reason = decoded.reason;
      out.metadata = decoded.metadata;
    } else if (name === 'google.rpc.LocalizedMessage') {
      out.locale = decoded.locale;
      out.message = decoded.message;
    }
  }
  return out;
}

// The operator's app; `supervisorToken` is the supervisor's own login, which approves the
// overrides (no token changes hands).
class OperatorApp {
  constructor(address, controlUrl, token, supervisorToken) {
    this.enrollment = new stationV1.Enrollment(address, grpc.credentials.createInsecure());
    this.records = new stationV1.Records(address, grpc.credentials.createInsecure());
    this.control = controlUrl;
    this.token = token;
    this.supervisorToken = supervisorToken;
    this.report = { rejections: [], exceptions: [], previews: 0, stale: 0 };
  }

  // The operator mistypes the NIK (a digit short): the same error in both languages.
  async showError(subject) {
    const mistyped = { ...subject, nik: subject.nik.slice(0, -1) };
    this.report.error = {};
    for (const language of ['en', 'id']) {
      try {
        await unary(this.enrollment, 'StartEnrollment', { subject: mistyped },
          auth(this.token, language));
      } catch (error) {
        const explained = explain(error); // INVALID_ARGUMENT NIK_INVALID
        say(`${language}: ${explained.reason}: ${explained.message}`);
        this.report.error[language] = explained;
      }
    }
  }

  // Open the enrollment; the retry of a start whose answer was lost names the same
  // request_id and gets the same enrollment (not ALREADY_EXISTS).
  async start(subject) {
    const request = { subject, request_id: randomUUID() };
    const record = await unary(this.enrollment, 'StartEnrollment', request, auth(this.token));
    const retried = await unary(this.enrollment, 'StartEnrollment', request, auth(this.token));
    if (retried.enrollment_id !== record.enrollment_id) throw new Error('the retry opened another');
    say(`enrollment ${record.enrollment_id}: ${record.plan.length} positions planned`);
    return record;
  }

  // Run one Capture call: show prompts and fresh previews; return its result.
  async captureStream(request) {
    const call = this.enrollment.Capture(request, auth(this.token),
      { deadline: Date.now() + 120000 });
    let result = null;
    for await (const event of call) {
      if (event.event === 'prompt') {
        say(`  ${event.prompt.instruction}: ${event.prompt.message}`);
      } else if (event.event === 'preview') {
        const at = event.preview.captured_at;
        const ageMs = Date.now() - (at.seconds * 1000 + at.nanos / 1e6);
        if (ageMs > STALE_MS) { // it waited in this app's receive window: skip it
          this.report.stale += 1;
          continue;
        }
        this.report.previews += 1; // show event.preview.image.data (JPEG), .quality
      } else if (event.event === 'result') {
        result = event.result;
      }
    }
    return result;
  }

  // Capture `position` until it is kept: retry a rejection while attempts are left, then
  // keep the best attempt with a supervisor's approval.
  async capture(enrollmentId, position) {
    const request = { enrollment_id: enrollmentId, position };
    for (let call = 0; call < CALLS_PER_POSITION; call += 1) {
      const offered = call === 0 ? OFFERED_FIRST[position] : undefined;
      // Simulated kit only: what the operator asks the resident to present.
      await kitControl(this.control, '/v1/resident/position',
        { position: offered || positionName(position) });
      const result = await this.captureStream(request);
      if (result.accepted) {
        say(`  kept ${positionName(position)}: quality ${result.sample.quality.score}`);
        return result;
      }
      say(`  not kept (${result.reason}, ${result.attempts_left} left): ${result.message}`);
      this.report.rejections.push({ position: positionName(position), reason: result.reason });
      if (result.attempts_left === 0) return this.force(enrollmentId, position);
    }
    throw new Error(`${positionName(position)}: no capture kept`);
  }

  // Keep the best of the plan's attempts, approved by the supervisor.
  async force(enrollmentId, position) {
    const approval = await unary(this.enrollment, 'ApproveOverride',
      { enrollment_id: enrollmentId, position, action: 'OVERRIDE_ACTION_FORCE_CAPTURE' },
      auth(this.supervisorToken));
    return this.captureStream({ enrollment_id: enrollmentId, position, force: true,
      force_reason: 'best of the attempts kept', approval_id: approval.approval_id });
  }

  // Record a missing finger: the operator photographs the hand through Capture (with
  // preview), the supervisor approves, the operator marks it with that photo.
  async markMissing(enrollmentId, position) {
    const kind = 'EXCEPTION_KIND_AMPUTATED';
    // Simulated kit only: the resident shows the hand to the face camera.
    await kitControl(this.control, '/v1/resident/position', { position: 'face' });
    const photo = await this.captureStream({ enrollment_id: enrollmentId, position,
      purpose: 'CAPTURE_PURPOSE_PROOF_PHOTO' });
    if (!photo.accepted) { // e.g. PROOF_PHOTO_BLANK: frame the hand and take it again
      throw new Error(`${positionName(position)}: no proof photo (${photo.reason})`);
    }
    const approval = await unary(this.enrollment, 'ApproveOverride',
      { enrollment_id: enrollmentId, position, action: 'OVERRIDE_ACTION_MARK_EXCEPTION',
        exception_kind: kind },
      auth(this.supervisorToken));
    await unary(this.enrollment, 'MarkException',
      { enrollment_id: enrollmentId, position, kind, note: 'finger missing (amputation)',
        approval_id: approval.approval_id, proof_from_capture: true },
      auth(this.token));
    say(`  ${positionName(position)}: exception recorded, approved by ${approval.approved_by}`);
    this.report.exceptions.push(positionName(position));
  }

  // Every planned position in order, then CompleteEnrollment; returns the record id.
  async enroll(record) {
    const enrollmentId = record.enrollment_id;
    for (const position of record.plan) {
      say(positionName(position));
      if (MISSING_FINGERS.has(position)) {
        await this.markMissing(enrollmentId, position);
        continue;
      }
      await this.capture(enrollmentId, position);
      if (position === 'POSITION_FACE') { // shown to the resident, who approves
        await unary(this.enrollment, 'ApproveSample',
          { enrollment_id: enrollmentId, position, approved: true }, auth(this.token));
      }
    }
    const request = { enrollment_id: enrollmentId };
    const done = await unary(this.enrollment, 'CompleteEnrollment', request, auth(this.token));
    const again = await unary(this.enrollment, 'CompleteEnrollment', request, auth(this.token));
    if (again.record_id !== done.record_id || again.package_sha256 !== done.package_sha256) {
      throw new Error('the retried completion answered another record');
    }
    say(`sealed as record ${done.record_id} (${done.package_size} bytes)`);
    return done.record_id;
  }

  // Watch the record until the centre's decision; resolves to the status's name.
  follow(recordId) {
    return new Promise((resolve, reject) => {
      const call = this.records.WatchRecords({ record_ids: [recordId], include_current: true },
        auth(this.token), { deadline: Date.now() + 120000 });
      let decided = null;
      call.on('data', (event) => {
        say(`record ${recordId}: ${event.record.status}`);
        if (FINAL.has(event.record.status) && !decided) {
          decided = event.record.status;
          call.cancel(); // ends the call with CANCELLED, which is ours
        }
      });
      call.on('error', (error) => (decided ? resolve(decided) : reject(error)));
      call.on('end', () => (decided ? resolve(decided) : reject(new Error('the watch ended'))));
    });
  }

  close() {
    this.enrollment.close();
    this.records.close();
  }
}

// What the operator types in from the family card (here: from the simulated resident).
function subjectOf(resident) {
  return {
    nik: resident.nik,
    name: resident.name,
    birth_date: resident.birth_date,
    sex: `SEX_${resident.sex.toUpperCase()}`,
    category: `RESIDENT_CATEGORY_${resident.category.toUpperCase()}`,
  };
}

async function main() {
  const [address, controlUrl, token, supervisorToken, seed = '1'] = process.argv.slice(2);
  const app = new OperatorApp(address, controlUrl, token, supervisorToken);
  try {
    const { resident } = await kitControl(controlUrl, '/v1/resident',
      { kind: 'amputee', seed: Number(seed) });
    const subject = subjectOf(resident);
    await app.showError(subject);
    const recordId = await app.enroll(await app.start(subject));
    app.report.record_id = recordId;
    app.report.status = await app.follow(recordId);
  } finally {
    app.close();
  }
  console.log(JSON.stringify(app.report));
}

main().catch((error) => {
  say(`enroll.js failed: ${error.stack || error}`);
  process.exitCode = 1;
});
