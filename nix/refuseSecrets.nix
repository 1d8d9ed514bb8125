# Credentials never reach the store: everything in `env` is written into world-readable `.drv`
# files (the planner's and the module fetcher's), so a variable that carries credentials is an
# evaluation error. The error names the variable, never its value, and says how to pass
# credentials instead (nix/README.md, "Private modules"). Refused:
# - a URL with user information, in any variable: `https://user:password@host`,
#   `https://token@host` (GOPROXY, GOPRIVATE-style lists, …);
# - a variable whose name says it holds a secret: it contains TOKEN, PASSWORD, PASSWD, SECRET,
#   CREDENTIAL, API_KEY/APIKEY or PRIVATE_KEY (upper, lower or capitalised);
# - a value that looks like a token: an `Authorization:` header, `Bearer …`, a GitHub
#   (`ghp_…`, `github_pat_…`) or GitLab (`glpat-…`) token;
# - `GOAUTH` other than `off`, `netrc` and `git DIR` (separated by `;`): a `command` runs a program
#   whose command line, often with a token, would be stored;
# - `NETRC`: the fetchers take it from the environment of the Nix daemon (impureEnvVars).
#
#   refuseSecrets { what = "godrv.buildWithIFD: env"; } env  →  env, or an error
{ what }:
env:
let
  matches = re: s: builtins.match re s != null;
  secretName = ".*(TOKEN|PASSWORD|PASSWD|SECRET|CREDENTIAL|API_?KEY|APIKEY|PRIVATE_?KEY|Token|Password|Passwd|Secret|Credential|Api_?Key|ApiKey|Private_?Key|token|password|passwd|secret|credential|api_?key|apikey|private_?key).*";
  urlWithUser = "(.|\n)*[A-Za-z][A-Za-z0-9+.-]*://[^/@[:space:]]+@(.|\n)*";
  tokenLike = "(.|\n)*([Aa]uthorization:|[Bb]earer [A-Za-z0-9._~+/=-]{8}|(ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{16}|github_pat_[A-Za-z0-9_]{16}|glpat-[A-Za-z0-9_-]{16})(.|\n)*";
  goauthEntry = "[[:space:]]*(off|netrc|git[[:space:]]+[^[:space:]]+)?[[:space:]]*";
  goauthOk = v: builtins.all (e: builtins.isList e || matches goauthEntry e) (builtins.split ";" v);
  reason =
    name: value:
    if name == "NETRC" then
      "the netrc file's path belongs in the environment of the Nix daemon (or of nix-build with a single-user store), where every module fetcher takes it from (impureEnvVars); in `env` it would be stored, and `\${./netrc}` would copy the file itself into the store"
    else if name == "GOAUTH" && !goauthOk value then
      "GOAUTH may only be `off`, `netrc` or `git DIR` here: a `command` runs a program whose command line (often with a token) would be stored in the .drv"
    else if matches secretName name then
      "its name says it holds a secret"
    else if matches urlWithUser value then
      "it holds a URL with credentials (`user:password@` or `token@`)"
    else if matches tokenLike value then
      "it looks like a token or an Authorization header"
    else
      null;
  bad = builtins.filter (n: reason n env.${n} != null) (builtins.attrNames env);
  first = builtins.head bad;
in
if bad == [ ] then
  env
else
  throw "${what}.${first}: ${reason first env.${first}}. Everything in `env` is written into world-readable .drv files in the Nix store, so godrv refuses it${if builtins.length bad > 1 then " (also: ${builtins.concatStringsSep ", " (builtins.tail bad)})" else ""}. Pass credentials at build time instead: put them in a netrc file (`machine HOST login USER password SECRET`; go sends them over HTTPS) that the build sandbox can see (`extra-sandbox-paths`), and set NETRC to its path in the environment of the Nix daemon (or of nix-build with a single-user store): every module fetcher takes NETRC (impureEnvVars). A variable go must see but the store must not: leave it out of `env` and add its name to impureEnvVars, `overrideModAttrs = old: { impureEnvVars = old.impureEnvVars ++ [ \"GOPROXY\" ]; }`. See nix/README.md, \"Private modules\"."
