// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ssh_config ${VAR} syntax is the subject here
import { expect, test } from "bun:test";
import { FwdError } from "../../src/errors.ts";
import {
  connectionHash,
  expandTilde,
  expandTokens,
  type TokenContext,
} from "../../src/sshconfig/tokens.ts";

const t: TokenContext = {
  home: "/home/me",
  localUser: "me",
  localHostname: "laptop.lan",
  host: "bastion-host",
  originalHost: "forward1",
  port: "2222",
  remoteUser: "bastion_user",
  env: { SOCK: "/run/agent", EMPTY: "" },
  uid: "1000",
};

test.each([
  ["%h:%p", "bastion-host:2222"],
  ["%r@%h", "bastion_user@bastion-host"],
  ["%u %d %i", "me /home/me 1000"],
  ["%l %L", "laptop.lan laptop"],
  ["%n %k", "forward1 forward1"],
  ["100%%", "100%"],
  ["%%h", "%h"],
  ["${SOCK}/x", "/run/agent/x"],
  ["${EMPTY}y", "y"],
  ["$SOCK", "$SOCK"],
  ["%C", connectionHash("laptop.lan", "bastion-host", "2222", "bastion_user")],
])("expands %p", (value, want) => {
  expect(expandTokens(value, t)).toBe(want);
});

test("%C is the SHA1 of local host, host, port and user, as ssh -G shows", () => {
  // ssh -G on host "vm": ControlPath %C for host a, port 22, user fwdtest
  expect(connectionHash("vm", "a", "22", "fwdtest")).toBe(
    "cba0dbd580d58886e842d61a2144dd35530aeb4c",
  );
});

test("${VAR} is left alone when the key does not expand it", () => {
  expect(expandTokens("${SOCK}", { ...t, dollar: false })).toBe("${SOCK}");
});

test.each(["%z", "50%", "${NOPE}", "${}", "${OPEN"])("%p is a config error", (value) => {
  expect(() => expandTokens(value, t)).toThrow(FwdError);
});

test.each([
  ["~", "/home/me/"],
  ["~/", "/home/me/"],
  ["~/.ssh/id", "/home/me/.ssh/id"],
  ["~//x", "/home/me/x"],
  ["/abs/~", "/abs/~"],
  ["rel", "rel"],
  ["~other/x", "~other/x"],
])("expandTilde(%p)", (p, want) => {
  expect(expandTilde(p, "/home/me")).toBe(want);
  expect(expandTilde(p, "/home/me/")).toBe(want);
});
