// Preloaded (node --require) into every tool the client tests run: a connection to
// anything but loopback fails, and is written to $NO_NETWORK_LOG so the test fails
// too (a tool may swallow the error, as telemetry and update checks do).
"use strict";
const dns = require("node:dns");
const fs = require("node:fs");
const net = require("node:net");

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|\[::1\]|localhost|::ffff:127\.\d+\.\d+\.\d+)$/i;

function refuse(what) {
  if (process.env.NO_NETWORK_LOG) {
    fs.appendFileSync(process.env.NO_NETWORK_LOG, `${process.argv[1]}: ${what}\n`);
  }
  const error = new Error(`no network beyond loopback: ${what}`);
  error.code = "ENETUNREACH";
  return error;
}

const connect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function (...args) {
  // net.connect() passes its normalized [options, callback] as one array.
  const first = Array.isArray(args[0]) ? args[0][0] : args[0];
  const options = typeof first === "object" && first !== null ? first : { port: first, host: args[1] };
  if (!options.path) {
    const host = options.host ?? "localhost";
    if (!LOOPBACK.test(String(host))) throw refuse(`connect ${host}:${options.port}`);
  }
  return connect.apply(this, args);
};

const lookup = dns.lookup;
dns.lookup = function (host, ...rest) {
  if (!LOOPBACK.test(String(host))) {
    const callback = rest[rest.length - 1];
    process.nextTick(() => callback(refuse(`lookup ${host}`)));
    return {};
  }
  return lookup.call(this, host, ...rest);
};
const promisedLookup = dns.promises.lookup;
dns.promises.lookup = async function (host, ...rest) {
  if (!LOOPBACK.test(String(host))) throw refuse(`lookup ${host}`);
  return promisedLookup.call(this, host, ...rest);
};
