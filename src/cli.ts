import cac from "cac";
import { type Ctx, type GlobalFlags, list, makeCtx } from "./context.ts";
import { FwdError } from "./errors.ts";
import { versionLine } from "./version.ts";

type Opts = GlobalFlags & Record<string, unknown>;
type Exit = number | undefined;

/**
 * cac wiring only: every command's module is imported when that command runs,
 * so `fwd --help` and `fwd status` never load ssh2 (DESIGN.md §1.5).
 */
export function buildCli(selfCommand: string[]) {
  const cli = cac("fwd");
  const ctx = (o: Opts): Ctx => makeCtx(o, selfCommand);

  cli
    .option("-F, --config <file>", "ssh_config file (default: ~/.ssh/config)")
    .option("-q, --quiet", "Print only errors")
    .option("--no-color", "No colours (also: NO_COLOR=1)")
    .option("-v, --verbose", "Show connection steps (never secrets)");

  cli
    .command("init", "Write a forward (bastion + LocalForward) into ~/.ssh/config")
    .option("--name <name>", "Host name for the bastion forward (default: forward1)")
    .option("--bastion <user@host[:port]>", "The bastion to connect to")
    .option("--identity <path>", "Private key file for the bastion")
    .option("--target <host:port>", "Destination as seen from the bastion (repeatable)")
    .option("--local <[bind:]port>", "Local port for each --target (repeatable)")
    .option("--forward <[bind:]port:host:port>", "A whole LocalForward spec (repeatable)")
    .option("--ssh-target <user>", "Also write a Host to ssh to the target as this user")
    .option("--ssh-name <name>", "Name of that second Host (default: forward2)")
    .option("--alive <seconds>", "ServerAliveInterval (default 15)")
    .option("--check", "Check the route before writing")
    .option("--print", "Print the snippet, write nothing")
    .option("--yes", "Write without asking (without a terminal fwd never asks)")
    .option("--force", "Take over a hand-written Host of the same name")
    .example(
      "fwd init --bastion user@bastion-host --identity ~/.ssh/id_rsa --target target-host:22 --ssh-target user --yes",
    )
    .example("fwd init --bastion user@bastion-host --forward 18080:target-host:8080 --print")
    .action(async (o: Opts) =>
      (await import("./commands/init.ts")).initCommand(ctx(o), o, cli.rawArgs),
    );

  cli
    .command("run <name>", "Open the forwards of a Host (foreground; -d for background)")
    .option("-d, --background", "Run in the background once every forward listens")
    .option(
      "--accept-new",
      "Trust an unknown host key and record it (StrictHostKeyChecking=accept-new)",
    )
    .option("-o <option=value>", "ssh_config option, as ssh -o (repeatable)")
    .option("-L <spec>", "Extra local forward, ssh -L syntax (repeatable)")
    .option("-R <spec>", "Extra remote forward, ssh -R syntax (repeatable)")
    .option("-D <spec>", "Extra SOCKS forward, ssh -D syntax (repeatable)")
    .option("--daemon-child", "(internal) the supervised process of run -d")
    .action(async (name: string, o: Opts) =>
      (await import("./commands/run.ts")).runCommand(ctx(o), name, {
        background: Boolean(o.background),
        acceptNew: Boolean(o.acceptNew),
        options: list(o.o),
        local: list(o.L),
        remote: list(o.R),
        dynamic: list(o.D),
        daemonChild: Boolean(o.daemonChild),
      }),
    );

  cli
    .command("stop [...names]", "Stop background forwards")
    .option("--all", "Stop every background forward")
    .option("--json", "Print what was stopped as JSON")
    .action(async (names: string[], o: Opts) =>
      (await import("./commands/stop.ts")).stopCommand(ctx(o), names, Boolean(o.all)),
    );

  cli
    .command("status [name]", "Show background forwards")
    .option("--json", "Print JSON")
    .action(async (name: string | undefined, o: Opts) =>
      (await import("./commands/status.ts")).statusCommand(ctx(o), name),
    );

  cli
    .command("logs <name>", "Print the log of a background forward")
    .option("-f, --follow", "Keep printing as the log grows")
    .action(async (name: string, o: Opts) =>
      (await import("./commands/logs.ts")).logsCommand(ctx(o), name, Boolean(o.follow)),
    );

  cli
    .command("ls", "List Hosts with forwards, marking the running ones")
    .option("--json", "Print JSON")
    .action(async (o: Opts) => (await import("./commands/ls.ts")).lsCommand(ctx(o)));

  cli
    .command("check <name>", "Diagnose the route laptop -> bastion -> target, layer by layer")
    .option("--json", "Print JSON")
    .action(async (name: string, o: Opts) =>
      (await import("./commands/check.ts")).checkCommand(ctx(o), name),
    );

  cli
    .command("config <action> <host>", "config resolve HOST: print options as ssh -G does")
    .option("--json", "Print JSON")
    .action(async (action: string, host: string, o: Opts) => {
      if (action !== "resolve") {
        throw new FwdError(
          "usage",
          `unknown config action "${action}"`,
          "try: fwd config resolve HOST",
        );
      }
      return (await import("./commands/config.ts")).configResolveCommand(ctx(o), host);
    });

  cli
    .command("demo", "Run a self-contained demo: bastion, target and a forward on loopback")
    .option("--json", "Print what the demo did as JSON")
    .action(async (o: Opts) => (await import("./commands/demo.ts")).demoCommand(ctx(o)));

  cli
    .command("version", "Print version information")
    .option("--json", "Print JSON")
    .action(async (o: Opts) => {
      const { versionInfo } = await import("./version.ts");
      process.stdout.write(o.json ? `${JSON.stringify(versionInfo())}\n` : `${versionLine()}\n`);
    });

  cli
    .command("completion <shell>", "Print a shell completion script: bash, zsh or fish")
    .action(async (shell: string, o: Opts) =>
      (await import("./commands/completion.ts")).completionCommand(ctx(o), shell),
    );

  // Hidden: what the completion scripts call on TAB. Registered only when it
  // is the command being run, so `fwd --help` never lists it.
  if (process.argv[2] === "__complete") {
    cli
      .command("__complete [what]")
      .allowUnknownOptions()
      .action(async (what: string | undefined, o: Opts) =>
        (await import("./commands/complete.ts")).completeCommand(ctx(o), cli, what, list(o["--"])),
      );
  }

  cli
    .command(
      "service <action> <name>",
      "Start a forward at login: service install|uninstall|status NAME",
    )
    .option("--no-start", "install: start it at next login, not now")
    .option("--json", "Print JSON (status)")
    .action(async (action: string, name: string, o: Opts) =>
      (await import("./commands/service.ts")).serviceCommand(ctx(o), action, name, {
        start: o.start !== false,
      }),
    );

  cli.option("-V, --version", "Print version");
  // cac gives every --no-X option a default of true and prints it, which reads as "on by default".
  cli.help((sections) =>
    sections.map((s) => ({
      ...s,
      body: s.body.replace(/^(\s+--no-\S.*?) \(default: true\)$/gm, "$1"),
    })),
  );
  return cli;
}

export async function runCli(argv: string[], selfCommand: string[]): Promise<number> {
  const cli = buildCli(selfCommand);
  const parsed = cli.parse(argv, { run: false });
  if (parsed.options.help) return 0;
  if (parsed.options.version && !cli.matchedCommand) {
    process.stdout.write(`${versionLine()}\n`);
    return 0;
  }
  if (!cli.matchedCommand) {
    // cac checks unknown flags only for a matched command; `fwd --bogus` is a usage error too.
    cli.globalCommand.checkUnknownOptions();
    const word = parsed.args[0];
    if (word === undefined) {
      cli.outputHelp();
      return 0;
    }
    throw new FwdError("usage", `unknown command "${word}"`, "run `fwd --help` for the list");
  }
  const code = (await cli.runMatchedCommand()) as Exit;
  return typeof code === "number" ? code : 0;
}
