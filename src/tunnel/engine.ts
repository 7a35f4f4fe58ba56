/**
 * The supervisor: binds the listeners, connects the hop chain, keeps it alive
 * and reconnects with full-jitter backoff. Listeners stay open across
 * reconnects; permanent failures (auth, host key) end the tunnel.
 */
import type { Client, ClientChannel } from "ssh2";
import { FwdError, messageOf } from "../errors.ts";
import type { Address, ForwardSpec } from "../sshconfig/forward.ts";
import { attemptAfterDrop, type BackoffPolicy, backoffDelay, defaultBackoff } from "./backoff.ts";
import { type ConnectDeps, connectHop } from "./connect.ts";
import { type Forward, fmtAddress, type Link, openDynamic, openLocal } from "./forwards.ts";
import { hopLabel, type TunnelPlan } from "./plan.ts";
import { type Remote, remoteStats, requestRemotes } from "./remote.ts";
import type { LinkState, TunnelStatus } from "./status.ts";

export interface TunnelHandle {
  status(): TunnelStatus;
  onChange(fn: (s: TunnelStatus) => void): void;
  onLog(fn: (line: string) => void): void;
  stop(): Promise<void>;
  /**
   * SIGHUP: switch to a re-read plan. Listeners whose spec is unchanged stay
   * open; the link is re-established with the new hops.
   */
  reload(plan: TunnelPlan): Promise<void>;
  /** Resolves when the tunnel ends: with the error that ended it, or undefined after stop(). */
  done: Promise<FwdError | undefined>;
}

export interface EngineDeps extends ConnectDeps {
  now?: () => number;
  random?: () => number;
  backoff?: BackoffPolicy;
  /** How often the clock is sampled for sleep/wake detection. */
  clockTickMs?: number;
  /** How long a new local connection waits for a reconnecting link. */
  waitForLinkMs?: number;
}

const PERMANENT = new Set([
  "auth",
  "host-key-changed",
  "host-key-unknown",
  "host-key-revoked",
  "protocol",
  "config",
]);
function channelError(err: Error & { reason?: number }, to: Address): FwdError {
  const where = fmtAddress(to);
  if (err.reason === 1 || /prohibited/i.test(err.message)) {
    return new FwdError(
      "forward",
      `the bastion refused to forward to ${where} (administratively prohibited)`,
      "AllowTcpForwarding or PermitOpen on the bastion forbids it",
    );
  }
  if (err.reason === 2 || /connect failed/i.test(err.message)) {
    return new FwdError(
      "forward",
      `the bastion could not connect to ${where} (${err.message.replace(/^\(SSH\) /, "")})`,
      "the name may not resolve on the bastion, the port may be closed, or there is no route from there",
    );
  }
  return new FwdError(
    "forward",
    `channel to ${where} failed: ${err.message}`,
    "run `fwd check` to diagnose",
  );
}

class Tunnel implements TunnelHandle {
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly policy: BackoffPolicy;
  private clients: Client[] = [];
  private forwards: Forward[] = [];
  private remotes: Remote[] = [];
  private state: LinkState = "connecting";
  private since: number;
  private upSince = 0;
  private reconnects = 0;
  private attempt = 0;
  /** The last failure, kept after recovery so status can say why it reconnected. */
  private lastError: string | undefined;
  /** Why the current link is failing (reset on every successful connect). */
  private linkError: string | undefined;
  private stopping = false;
  private waiters: { resolve: (c: Client) => void; reject: (e: Error) => void }[] = [];
  private changeFns: ((s: TunnelStatus) => void)[] = [];
  private logFns: ((l: string) => void)[] = [];
  private timers: ReturnType<typeof setInterval>[] = [];
  private lastTick: number;
  private wake: (() => void) | undefined;
  private finish!: (e: FwdError | undefined) => void;
  readonly done: Promise<FwdError | undefined>;

  constructor(
    private plan: TunnelPlan,
    private readonly deps: EngineDeps,
  ) {
    this.now = deps.now ?? Date.now;
    this.random = deps.random ?? Math.random;
    this.policy = deps.backoff ?? defaultBackoff;
    this.since = this.now();
    this.lastTick = this.now();
    this.done = new Promise((r) => {
      this.finish = r;
    });
  }

  private get bastion() {
    return this.plan.hops[this.plan.hops.length - 1]!;
  }

  private log(line: string): void {
    this.deps.log(line);
    for (const fn of this.logFns) fn(line);
  }

  private setState(s: LinkState): void {
    this.state = s;
    this.since = this.now();
    this.emit();
  }

  private emit(): void {
    const snap = this.status();
    for (const fn of this.changeFns) fn(snap);
  }

  status(): TunnelStatus {
    return {
      name: this.plan.name,
      state: this.state,
      since: new Date(this.since).toISOString(),
      reconnects: this.reconnects,
      lastError: this.lastError,
      via: hopLabel(this.bastion),
      forwards: [
        ...this.forwards.map((f) => ({ ...f.stats })),
        ...this.remotes.map((r) => ({ ...r.stats })),
      ],
    };
  }

  onChange(fn: (s: TunnelStatus) => void): void {
    this.changeFns.push(fn);
  }

  onLog(fn: (l: string) => void): void {
    this.logFns.push(fn);
  }

  private link: Link = {
    openChannel: async (to, from) => {
      const client = await this.whenUp();
      return new Promise<ClientChannel>((resolve, reject) => {
        const cb = (err: Error | undefined, ch: ClientChannel) =>
          err ? reject(channelError(err, to)) : resolve(ch);
        if ("socket" in to) client.openssh_forwardOutStreamLocal(to.socket, cb);
        else client.forwardOut(from.ip, from.port, to.host, to.port, cb);
      });
    },
    log: (line) => this.log(line),
  };

  private whenUp(): Promise<Client> {
    const client = this.clients[this.clients.length - 1];
    if (this.state === "up" && client) return Promise.resolve(client);
    if (this.stopping) return Promise.reject(new Error("tunnel stopped"));
    return new Promise((resolve, reject) => {
      const waiter = {
        resolve: (c: Client) => {
          clearTimeout(timer);
          resolve(c);
        },
        reject: (e: Error) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error("the SSH link is down (reconnecting); connection dropped"));
      }, this.deps.waitForLinkMs ?? 30_000);
      this.waiters.push(waiter);
    });
  }

  async start(): Promise<void> {
    try {
      for (const spec of this.plan.forwards) await this.addForward(spec);
      await this.connect(true);
    } catch (e) {
      await this.teardown();
      this.state = "stopped";
      throw e;
    }
    this.timers.push(setInterval(() => this.checkClock(), this.deps.clockTickMs ?? 1000));
    let lastBytes = -1;
    this.timers.push(
      setInterval(() => {
        const bytes = this.forwards.reduce(
          (n, f) => n + f.stats.bytesIn + f.stats.bytesOut + f.stats.connections,
          0,
        );
        if (bytes !== lastBytes) this.emit();
        lastBytes = bytes;
      }, 2000),
    );
    for (const t of this.timers) t.unref?.();
  }

  private async addForward(spec: ForwardSpec): Promise<void> {
    if (spec.kind === "local")
      this.forwards.push(await openLocal(spec, this.plan.gatewayPorts, this.link));
    else if (spec.kind === "dynamic")
      this.forwards.push(await openDynamic(spec, this.plan.gatewayPorts, this.link));
    else this.remotes.push({ spec, stats: remoteStats(spec) });
  }

  async reload(plan: TunnelPlan): Promise<void> {
    const key = (f: ForwardSpec) => JSON.stringify(f);
    const wanted = new Set(plan.forwards.map(key));
    const kept = this.forwards.filter((f) => wanted.has(key(f.spec)));
    const dropped = this.forwards.filter((f) => !wanted.has(key(f.spec)));
    await Promise.all(dropped.map((f) => f.close()));
    const have = new Set(kept.map((f) => key(f.spec)));
    this.plan = plan;
    this.forwards = kept;
    this.remotes = [];
    for (const spec of plan.forwards) {
      if (spec.kind === "remote" || !have.has(key(spec))) {
        try {
          await this.addForward(spec);
        } catch (e) {
          this.log(`reload: ${messageOf(e)}`);
        }
      }
    }
    this.log(`configuration reloaded: ${kept.length} listener(s) kept, ${dropped.length} closed`);
    this.linkError = "configuration reloaded";
    const clients = this.clients;
    if (this.state === "up" && clients.length) {
      this.onLost(clients);
      for (const c of clients) c.destroy();
    }
  }

  /** Connect every hop, then request the remote forwards. */
  private async connect(initial: boolean): Promise<void> {
    const clients: Client[] = [];
    try {
      for (const hop of this.plan.hops) {
        this.log(
          `connecting to ${hopLabel(hop)}${clients.length ? " (through the previous hop)" : ""}`,
        );
        const { client } = await connectHop(hop, clients[clients.length - 1], this.deps);
        clients.push(client);
      }
      const last = clients[clients.length - 1]!;
      await requestRemotes(last, this.remotes, {
        strict: initial || this.plan.exitOnForwardFailure,
        log: (l) => this.log(l),
      });
    } catch (e) {
      for (const c of clients) c.end();
      throw e;
    }
    this.clients = clients;
    this.linkError = undefined;
    this.upSince = this.now();
    this.lastTick = this.now();
    for (const c of clients) {
      c.on("error", (e: Error) => {
        this.linkError = messageOf(e);
      });
      c.once("close", () => this.onLost(clients));
    }
    this.setState("up");
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w.resolve(clients[clients.length - 1]!);
  }

  private onLost(clients: Client[]): void {
    if (this.clients !== clients || this.stopping) return;
    this.clients = [];
    for (const c of clients) c.end();
    const upMs = this.now() - this.upSince;
    this.attempt = attemptAfterDrop(this.policy, this.attempt, upMs);
    this.lastError = this.linkError ?? "connection closed";
    this.log(`link to ${hopLabel(this.bastion)} lost: ${this.lastError}`);
    this.setState("reconnecting");
    void this.reconnectLoop();
  }

  private async reconnectLoop(): Promise<void> {
    let tries = 0;
    while (!this.stopping) {
      const delay = backoffDelay(this.policy, this.attempt++, this.random);
      this.log(`reconnecting in ${(delay / 1000).toFixed(1)}s`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, delay);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.wake = undefined;
      if (this.stopping) return;
      tries++;
      try {
        this.setState("reconnecting");
        await this.connect(false);
        this.reconnects++;
        this.log(`up again after ${tries} attempt${tries === 1 ? "" : "s"}`);
        this.emit();
        return;
      } catch (e) {
        const err = e instanceof FwdError ? e : new FwdError("connect", messageOf(e));
        this.lastError = err.message;
        this.log(`reconnect failed: ${err.message}`);
        if (PERMANENT.has(err.code)) {
          this.log("not retrying: this failure will not fix itself");
          await this.teardown();
          this.setState("stopped");
          this.finish(err);
          return;
        }
        this.emit();
      }
    }
  }

  /** Sleep/wake: a wall-clock jump past the keepalive window means the link is stale. */
  checkClock(): void {
    const now = this.now();
    const tick = this.deps.clockTickMs ?? 1000;
    const ka = this.bastion.keepalive;
    const jumpMs = now - this.lastTick - tick;
    this.lastTick = now;
    if (jumpMs <= ka.intervalMs * ka.countMax || this.stopping) return;
    this.log(`clock jumped ${Math.round(jumpMs / 1000)}s (sleep/wake?): reconnecting now`);
    this.linkError = "clock jump (sleep/wake)";
    if (this.state === "up") {
      const c = this.clients;
      this.onLost(c);
      for (const client of c) client.destroy();
    } else {
      this.attempt = 0;
      this.wake?.();
    }
  }

  private async teardown(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    for (const w of this.waiters) w.reject(new Error("tunnel stopped"));
    this.waiters = [];
    const clients = this.clients;
    this.clients = [];
    for (const c of clients) c.end();
    setTimeout(() => {
      for (const c of clients) c.destroy();
    }, 500).unref?.();
    await Promise.all(this.forwards.map((f) => f.close()));
  }

  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.wake?.();
    await this.teardown();
    this.setState("stopped");
    this.finish(undefined);
  }
}

/** Resolves once every listener is bound and the first connection is up; throws a FwdError otherwise. */
export async function openTunnel(
  plan: TunnelPlan,
  deps: EngineDeps,
): Promise<TunnelHandle & { checkClock(): void }> {
  const t = new Tunnel(plan, deps);
  await t.start();
  return t;
}
