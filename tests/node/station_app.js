// What the test operator apps share: an Enrollment client built from the station.v1 protos
// alone, the caller's token as metadata, and a UI freeze.
'use strict';
const path = require('path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const protoRoot = path.resolve(__dirname, '..', '..', 'proto');

function enrollmentClient(address, token) {
  const definition = protoLoader.loadSync('station/v1/enrollment.proto', {
    includeDirs: [protoRoot],
    keepCase: true,
    longs: Number,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  const station = grpc.loadPackageDefinition(definition).station.v1;
  const client = new station.Enrollment(address, grpc.credentials.createInsecure());
  const metadata = new grpc.Metadata();
  metadata.set('authorization', `Bearer ${token}`);
  return { client, metadata };
}

function busyWait(ms) {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    // the app's UI thread is frozen: nothing else runs, not even socket reads
  }
}

module.exports = { enrollmentClient, busyWait };
