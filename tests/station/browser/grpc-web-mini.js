// A minimal gRPC-Web client for the browser tests, written from grpc/grpc doc/PROTOCOL-WEB.md
// and the protobuf wire format (protobuf.dev "Encoding"): no build step, no dependencies.
(() => {
"use strict";

const te = new TextEncoder();
const td = new TextDecoder();

// -- protobuf wire format ---------------------------------------------------------------------
function readVarint(bytes, pos) {
  let value = 0, shift = 0, byte;
  do {
    byte = bytes[pos++];
    value += (byte & 0x7f) * 2 ** shift;
    shift += 7;
  } while (byte & 0x80);
  return [value, pos];
}

// Every field of a message as [number, value]: a Number (varint) or a Uint8Array (length-delimited).
function fields(bytes) {
  const out = [];
  let pos = 0;
  while (pos < bytes.length) {
    let key, value;
    [key, pos] = readVarint(bytes, pos);
    const number = Math.floor(key / 8), wire = key & 7;
    if (wire === 0) {
      [value, pos] = readVarint(bytes, pos);
    } else if (wire === 2) {
      let length;
      [length, pos] = readVarint(bytes, pos);
      value = bytes.subarray(pos, pos + length);
      pos += length;
    } else if (wire === 1) { value = bytes.subarray(pos, pos + 8); pos += 8; }
    else if (wire === 5) { value = bytes.subarray(pos, pos + 4); pos += 4; }
    else throw new Error("unsupported wire type " + wire);
    out.push([number, value]);
  }
  return out;
}

const field = (bytes, number) => (fields(bytes).find(([n]) => n === number) || [])[1];
const repeated = (bytes, number) => fields(bytes).filter(([n]) => n === number).map(([, v]) => v);
const text = (value) => (value === undefined ? "" : td.decode(value));

// google.rpc.Status {code = 1; message = 2; repeated Any details = 3}, Any {type_url = 1; value = 2},
// ErrorInfo {reason = 1; domain = 2}, LocalizedMessage {locale = 1; message = 2}.
function decodeStatus(bytes) {
  const status = { code: field(bytes, 1) || 0, message: text(field(bytes, 2)), details: {} };
  for (const any of repeated(bytes, 3)) {
    const type = text(field(any, 1)).split("/").pop();
    const value = field(any, 2) || new Uint8Array();
    status.details[type] = { first: text(field(value, 1)), second: text(field(value, 2)) };
  }
  return status;
}

// -- gRPC-Web framing -------------------------------------------------------------------------
function frame(message) {
  const out = new Uint8Array(5 + message.length);
  new DataView(out.buffer).setUint32(1, message.length);
  out.set(message, 5);
  return out;
}

const base64 = (bytes) => btoa(String.fromCharCode(...bytes));
function unbase64(chars) {  // padded base64 pieces, decoded four characters at a time
  const parts = [];
  for (let i = 0; i + 4 <= chars.length; i += 4) {
    parts.push(Uint8Array.from(atob(chars.slice(i, i + 4)), (c) => c.charCodeAt(0)));
  }
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

function parseTrailers(bytes) {
  const trailers = {};
  for (const line of td.decode(bytes).split("\r\n")) {
    const colon = line.indexOf(":");
    if (colon > 0) trailers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return trailers;
}

// Calls `method` with one request message; onMessage(bytes) is called for each answer message
// as it arrives and may return false to stop reading (the call is then aborted).
async function call(base, method, message, { token, textMode = false, onMessage = () => true } = {}) {
  const headers = { "x-grpc-web": "1" };
  headers["content-type"] = textMode ? "application/grpc-web-text" : "application/grpc-web+proto";
  if (token) headers.authorization = "Bearer " + token;
  const abort = new AbortController();
  const body = textMode ? base64(frame(message)) : frame(message);
  const response = await fetch(base + method, { method: "POST", headers, body, signal: abort.signal });
  const reader = response.body.getReader();
  let pending = new Uint8Array(), pendingText = "", trailers = null, stopped = false;
  const result = { httpStatus: response.status, messages: 0 };
  while (!trailers && !stopped) {
    const { value, done } = await reader.read();
    if (done) break;
    let chunk = value;
    if (textMode) {
      pendingText += td.decode(value);
      const usable = pendingText.length - (pendingText.length % 4);
      chunk = unbase64(pendingText.slice(0, usable));
      pendingText = pendingText.slice(usable);
    }
    const joined = new Uint8Array(pending.length + chunk.length);
    joined.set(pending);
    joined.set(chunk, pending.length);
    pending = joined;
    while (pending.length >= 5) {
      const length = new DataView(pending.buffer, pending.byteOffset).getUint32(1);
      if (pending.length < 5 + length) break;
      const flag = pending[0], payload = pending.slice(5, 5 + length);
      pending = pending.slice(5 + length);
      if (flag & 0x80) { trailers = parseTrailers(payload); break; }
      result.messages += 1;
      if (onMessage(payload) === false) { stopped = true; break; }
    }
  }
  if (stopped) { abort.abort(); result.aborted = true; return result; }
  trailers = trailers || {};
  result.grpcStatus = Number(trailers["grpc-status"]);
  result.grpcMessage = decodeURIComponent(trailers["grpc-message"] || "");
  if (trailers["grpc-status-details-bin"]) {
    result.status = decodeStatus(unbase64(trailers["grpc-status-details-bin"]));
  }
  return result;
}

window.grpcWebMini = { call, fields, field, repeated, text };
})();
