/**
 * Issue 7, fault 2: the network path between laptop and bastion blackholed
 * (the bastion's end of the veth set down, so the laptop's packets vanish
 * without an error) for 2x the keepalive window, then restored. fwd runs in
 * the laptop namespace with ServerAliveInterval 1, ServerAliveCountMax 2:
 * the loss must be noticed within (CountMax+1) x Interval + 1 s = 4 s (we
 * allow +3 s more for a loaded 2-core CI box) and the forward must work again
 * after the restore without user action. Source and compiled binary.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { type FwdMode, fwdCommand, hasBinary } from "../helpers/fwd.ts";
import { genKey, type KeyPair, type TempHome, tempHome } from "../helpers/home.ts";
import { BASTION_IP, canMakeNetns, makeTopology, type Topology } from "../helpers/netns.ts";
import { waitFor } from "../helpers/ports.ts";
import { canRunSshd, ensureUser, type Sshd, startSshd } from "../helpers/sshd.ts";
import { TARGET_BODY } from "../helpers/targets.ts";

const ready = canMakeNetns() && canRunSshd;
const modes: FwdMode[] = hasBinary ? ["source", "binary"] : ["source"];
const INTERVAL_S = 1;
const COUNT_MAX = 2;
/** Issue 7's bound, plus 3 s of slack for a loaded CI machine. */
const DETECT_BOUND_MS = ((COUNT_MAX + 1) * INTERVAL_S + 1) * 1000 + 3000;

describe.skipIf(!ready)("fault 2: blackholed path (netns)", () => {
  let topo: Topology;
  let home: TempHome;
  let key: KeyPair;
  let bastion: Sshd;
  /** The bastion's end of the laptop<->bastion veth. */
  let bastionDev: string;

  beforeAll(async () => {
    topo = await makeTopology();
    home = tempHome("fwd-faults-netns-");
    key = genKey(home.sshDir);
    ensureUser("bastion_user");
    bastion = await startSshd({
      netns: topo.bastion,
      host: BASTION_IP,
      authorized: { bastion_user: [key.pub] },
    });
    await topo.httpTarget(topo.target, 8080);
    const links = topo.exec(topo.bastion, ["ip", "-o", "addr", "show", "to", `${BASTION_IP}/32`]);
    bastionDev = links.stdout.trim().split(/\s+/)[1]!;
    if (!bastionDev) throw new Error(`no device with ${BASTION_IP}: ${links.stdout}`);
  });

  afterAll(async () => {
    // Whatever happened, the path is restored before the namespaces go.
    if (bastionDev) spawnSync("ip", ["-n", topo.bastion, "link", "set", bastionDev, "up"]);
    await bastion?.cleanup();
    await topo?.cleanup();
    home?.cleanup();
  });

  const curl = () =>
    topo.exec(topo.laptop, ["curl", "-s", "--max-time", "3", "http://127.0.0.1:18080/"]).stdout;
  const link = (state: "up" | "down") => {
    const r = spawnSync("ip", ["-n", topo.bastion, "link", "set", bastionDev, state], {
      encoding: "utf8",
    });
    if (r.status !== 0) throw new Error(`ip link set ${state}: ${r.stderr}`);
  };

  test.each(modes)(
    "%s: detected within (CountMax+1)×Interval + 1 s, reconnected after restore",
    async (mode) => {
      const cfg = join(home.dir, `config-${mode}`);
      const kh = join(home.dir, `known_hosts-${mode}`);
      writeFileSync(kh, `bastion-host ${bastion.hostKeyPub}\n`);
      writeFileSync(
        cfg,
        [
          "Host forward1",
          "  HostName bastion-host",
          "  User bastion_user",
          `  IdentityFile ${key.path}`,
          "  IdentitiesOnly yes",
          `  UserKnownHostsFile ${kh}`,
          "  StrictHostKeyChecking yes",
          `  ServerAliveInterval ${INTERVAL_S}`,
          `  ServerAliveCountMax ${COUNT_MAX}`,
          "  ConnectTimeout 2",
          "  LocalForward 18080 target-host:8080",
          "",
        ].join("\n"),
      );
      const fwd = await topo.spawn(
        topo.laptop,
        [...fwdCommand(mode), "run", "-F", cfg, "forward1"],
        {
          env: home.env,
          ready: /$/,
        },
      );
      try {
        await waitFor(() => fwd.stderr().includes("Ctrl-C") && curl() === TARGET_BODY, {
          timeoutMs: 20_000,
          what: `fwd (${mode}) serving the web forward: ${fwd.stderr()}`,
        });
        // Idle link: only keepalives flow. Cut the path.
        const downAt = Date.now();
        link("down");
        let lostAt = 0;
        await waitFor(
          () => {
            if (/lost: /.test(fwd.stderr())) lostAt ||= Date.now();
            return lostAt > 0;
          },
          { timeoutMs: 20_000, intervalMs: 20, what: `fwd to notice the loss: ${fwd.stderr()}` },
        );
        const detectMs = lostAt - downAt;
        expect(fwd.stderr()).toMatch(/lost: Keepalive timeout/);
        // Stay down for 2× the keepalive window (counted from the cut), then restore.
        const windowMs = (COUNT_MAX + 1) * INTERVAL_S * 1000;
        await waitFor(() => Date.now() - downAt >= 2 * windowMs, {
          timeoutMs: 3 * windowMs,
          intervalMs: 50,
        });
        const retriesWhileDown = (fwd.stderr().match(/reconnect failed/g) ?? []).length;
        const before = (fwd.stderr().match(/up again/g) ?? []).length;
        link("up");
        const upAt = Date.now();
        let againAt = 0;
        await waitFor(
          () => {
            if ((fwd.stderr().match(/up again/g) ?? []).length > before) againAt ||= Date.now();
            return againAt > 0 && curl() === TARGET_BODY;
          },
          { timeoutMs: 60_000, intervalMs: 50, what: `fwd up again: ${fwd.stderr()}` },
        );
        const servedAt = Date.now();
        console.log(
          `[fault 2 ${mode}] loss detected ${detectMs} ms after the cut (bound ${DETECT_BOUND_MS - 3000} ms + 3 s slack); ` +
            `${retriesWhileDown} failed retries while down; up again ${againAt - upAt} ms after restore, ` +
            `served ${servedAt - upAt} ms after restore`,
        );
        expect(detectMs).toBeLessThan(DETECT_BOUND_MS);
        expect(fwd.child.exitCode).toBeNull();
      } finally {
        link("up");
        await fwd.kill();
      }
    },
  );
});
