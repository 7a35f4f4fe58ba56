import { describe, expect, test } from "bun:test";
import { FwdError } from "../../src/errors.ts";
import {
  type ForwardKind,
  type ForwardSpec,
  formatForward,
  parseForward,
} from "../../src/sshconfig/forward.ts";
import { parseRawForward } from "../../src/sshconfig/fwdspec.ts";

type Row = [
  kind: ForwardKind,
  spec: string,
  form: "config" | "cli",
  want: ForwardSpec,
  printed: string,
];

const good: Row[] = [
  [
    "local",
    "10022 target-host:22",
    "config",
    {
      kind: "local",
      listen: { bind: undefined, port: 10022 },
      connect: { host: "target-host", port: 22 },
    },
    "10022 [target-host]:22",
  ],
  [
    "local",
    "10022:target-host:22",
    "cli",
    {
      kind: "local",
      listen: { bind: undefined, port: 10022 },
      connect: { host: "target-host", port: 22 },
    },
    "10022 [target-host]:22",
  ],
  [
    "local",
    "10022 [target-host]:22",
    "cli",
    {
      kind: "local",
      listen: { bind: undefined, port: 10022 },
      connect: { host: "target-host", port: 22 },
    },
    "10022 [target-host]:22",
  ],
  [
    "local",
    "127.0.0.1:10022:target-host:22",
    "cli",
    {
      kind: "local",
      listen: { bind: "127.0.0.1", port: 10022 },
      connect: { host: "target-host", port: 22 },
    },
    "[127.0.0.1]:10022 [target-host]:22",
  ],
  [
    "local",
    "[::1]:10022:[fe80::1]:22",
    "cli",
    { kind: "local", listen: { bind: "::1", port: 10022 }, connect: { host: "fe80::1", port: 22 } },
    "[::1]:10022 [fe80::1]:22",
  ],
  [
    "local",
    "[::1]:10022 [host]:22",
    "config",
    { kind: "local", listen: { bind: "::1", port: 10022 }, connect: { host: "host", port: 22 } },
    "[::1]:10022 [host]:22",
  ],
  [
    "local",
    "bind:8080 host:80",
    "config",
    { kind: "local", listen: { bind: "bind", port: 8080 }, connect: { host: "host", port: 80 } },
    "[bind]:8080 [host]:80",
  ],
  [
    "local",
    "*:8080 host:80",
    "config",
    { kind: "local", listen: { bind: "*", port: 8080 }, connect: { host: "host", port: 80 } },
    "[*]:8080 [host]:80",
  ],
  [
    "local",
    "/path.sock /remote.sock",
    "config",
    { kind: "local", listen: { socket: "/path.sock" }, connect: { socket: "/remote.sock" } },
    "/path.sock /remote.sock",
  ],
  [
    "local",
    "8080:/run/app.sock",
    "cli",
    {
      kind: "local",
      listen: { bind: undefined, port: 8080 },
      connect: { socket: "/run/app.sock" },
    },
    "8080 /run/app.sock",
  ],
  [
    "local",
    "/tmp/l.sock:host:22",
    "cli",
    { kind: "local", listen: { socket: "/tmp/l.sock" }, connect: { host: "host", port: 22 } },
    "/tmp/l.sock [host]:22",
  ],
  [
    "local",
    "2222 target:ssh",
    "config",
    {
      kind: "local",
      listen: { bind: undefined, port: 2222 },
      connect: { host: "target", port: 22 },
    },
    "2222 [target]:22",
  ],
  [
    "remote",
    "9090 localhost:90",
    "config",
    {
      kind: "remote",
      listen: { bind: undefined, port: 9090 },
      connect: { host: "localhost", port: 90 },
    },
    "9090 [localhost]:90",
  ],
  [
    "remote",
    "0:localhost:91",
    "cli",
    {
      kind: "remote",
      listen: { bind: undefined, port: 0 },
      connect: { host: "localhost", port: 91 },
    },
    "0 [localhost]:91",
  ],
  [
    "remote",
    "1080",
    "config",
    {
      kind: "remote",
      listen: { bind: undefined, port: 1080 },
      connect: { host: "socks", port: 0 },
    },
    "1080 [socks]:0",
  ],
  [
    "remote",
    "1080",
    "cli",
    {
      kind: "remote",
      listen: { bind: undefined, port: 1080 },
      connect: { host: "socks", port: 0 },
    },
    "1080 [socks]:0",
  ],
  [
    "remote",
    "1080 [socks]:0",
    "config",
    {
      kind: "remote",
      listen: { bind: undefined, port: 1080 },
      connect: { host: "socks", port: 0 },
    },
    "1080 [socks]:0",
  ],
  [
    "dynamic",
    "1080",
    "config",
    { kind: "dynamic", listen: { bind: undefined, port: 1080 } },
    "1080",
  ],
  [
    "dynamic",
    "127.0.0.1:1080",
    "config",
    { kind: "dynamic", listen: { bind: "127.0.0.1", port: 1080 } },
    "[127.0.0.1]:1080",
  ],
  [
    "dynamic",
    "[::1]:1081",
    "cli",
    { kind: "dynamic", listen: { bind: "::1", port: 1081 } },
    "[::1]:1081",
  ],
  [
    "local",
    "7000 socks:80",
    "config",
    { kind: "dynamic", listen: { bind: undefined, port: 7000 } },
    "7000",
  ],
];

describe("parseForward and formatForward", () => {
  test.each(good)("%s %p (%s) parses and prints as ssh -G", (kind, spec, form, want, printed) => {
    const got = parseForward(kind, spec, form);
    expect(got).toEqual(want);
    expect(formatForward(got)).toBe(printed);
  });

  test.each(good)("%s %p round-trips through its ssh -G form", (kind, spec, form) => {
    const got = parseForward(kind, spec, form);
    expect(parseForward(got.kind, formatForward(got), "config")).toEqual(got);
  });
});

const bad: [ForwardKind, string, "config" | "cli"][] = [
  ["local", "10022", "config"], // missing target
  ["local", "10022", "cli"],
  ["local", "10022 target-host", "config"],
  ["local", "0 target:22", "config"], // listen port 0 only for remote
  ["local", "10022 target:99999", "config"],
  ["local", "70000 target:22", "config"],
  ["local", "10022 target:0", "config"],
  ["local", "a b c", "config"],
  ["local", "[::1:10022:h:22", "cli"],
  ["local", "1:2:3:4:5", "cli"],
  ["local", "", "cli"],
  ["dynamic", "a:1:b", "cli"],
  ["dynamic", "0", "cli"],
  ["dynamic", "1080 extra", "config"],
  ["remote", "x:y:z", "cli"],
];

test.each(bad)("%s %p (%s) is a usage error naming the spec", (kind, spec, form) => {
  let err: unknown;
  try {
    parseForward(kind, spec, form);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(FwdError);
  expect((err as FwdError).code).toBe("usage");
  expect((err as FwdError).message).toStartWith(`bad forward spec "${spec}"`);
  expect((err as FwdError).exitCode).toBe(2);
});

test.each([
  ["a\\:b:1:c:2", "a:b"],
  ["[a:b]:1:c:2", "a:b"],
])("parse_fwd_field: %p keeps an escaped or bracketed colon in the listen host", (spec, host) => {
  expect(parseRawForward(spec, false, false)?.listenHost).toBe(host);
});
