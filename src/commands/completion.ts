/**
 * `fwd completion bash|zsh|fish`: prints a script for that shell. Each script
 * is a thin adapter: on TAB it hands the words typed so far to the hidden
 * `fwd __complete -- WORD...` (complete.ts), which answers `:words` + candidates
 * (`value<TAB>description`) or `:files`. Commands, flags and Host names thus
 * follow the installed fwd and the current ssh_config without regenerating.
 */
import type { Ctx } from "../context.ts";
import { FwdError } from "../errors.ts";

export const SHELLS = ["bash", "zsh", "fish"] as const;
export type Shell = (typeof SHELLS)[number];

const BASH = `# fwd completion for bash. Load it with:  source <(fwd completion bash)
# or save it as ~/.local/share/bash-completion/completions/fwd
_fwd_complete() {
    local cur=\${COMP_WORDS[COMP_CWORD]}
    local -a lines
    local line
    mapfile -t lines < <(command fwd __complete -- "\${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null)
    COMPREPLY=()
    if [[ \${lines[0]} == :files ]]; then
        compopt -o filenames 2>/dev/null
        mapfile -t COMPREPLY < <(compgen -f -- "$cur")
        return 0
    fi
    for line in "\${lines[@]:1}"; do
        [[ -n $line ]] && COMPREPLY+=("\${line%%$'\\t'*}")
    done
    return 0
}
complete -F _fwd_complete fwd
`;

const ZSH = `#compdef fwd
# fwd completion for zsh. Load it with:  source <(fwd completion zsh)
# (after compinit), or save it as _fwd in a directory of $fpath.
_fwd() {
  local -a lines values displays
  local line value desc
  lines=("\${(@f)$(command fwd __complete -- "\${(@)words[2,CURRENT]}" 2>/dev/null)}")
  if [[ \${lines[1]} == :files ]]; then
    _files
    return
  fi
  for line in "\${(@)lines[2,-1]}"; do
    [[ -n $line ]] || continue
    value=\${line%%$'\\t'*}
    desc=\${line#*$'\\t'}
    values+=("$value")
    if [[ -n $desc && $desc != "$line" ]]; then
      displays+=("$value  -- $desc")
    else
      displays+=("$value")
    fi
  done
  (( \${#values} )) || return 1
  compadd -l -d displays -a values
}
if [[ \${funcstack[1]} == _fwd ]]; then
  _fwd "$@"
else
  compdef _fwd fwd
fi
`;

const FISH = `# fwd completion for fish. Load it with:  fwd completion fish | source
# or save it as ~/.config/fish/completions/fwd.fish
function __fwd_complete
    set -l words (commandline -opc) (commandline -ct)
    set -e words[1]
    set -l lines (command fwd __complete -- $words 2>/dev/null)
    if test "$lines[1]" = ":files"
        __fish_complete_path (commandline -ct)
        return
    end
    if test (count $lines) -gt 1
        printf '%s\\n' $lines[2..-1]
    end
end
complete -c fwd -f -a '(__fwd_complete)'
`;

const SCRIPTS: Record<Shell, string> = { bash: BASH, zsh: ZSH, fish: FISH };

export function completionScript(shell: Shell): string {
  return SCRIPTS[shell];
}

function isShell(s: string): s is Shell {
  return (SHELLS as readonly string[]).includes(s);
}

export function completionCommand(ctx: Ctx, shell: string): number {
  if (!isShell(shell)) {
    throw new FwdError(
      "usage",
      `no completion for shell "${shell}"`,
      `use one of: ${SHELLS.map((s) => `fwd completion ${s}`).join(", ")}`,
    );
  }
  ctx.stdout.write(completionScript(shell));
  return 0;
}
