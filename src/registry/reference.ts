/**
 * Image references: where an image lives (registry host, repository) and which version (tag or
 * digest). Pure parsing, no I/O: the config layer uses it to turn `type: name@version` and
 * `image` into full references, the registry client to reach them.
 */

/** The registry and organisation of `type: name@version` when the name has no `/`. */
export const DEFAULT_COMPONENT_REGISTRY = "docker.io/withobsrvr";

/** A parsed reference: `registry/repository:tag` or `registry/repository@sha256:…`. */
export interface ImageReference {
  /** Host (and port) as written; `docker.io` for Docker Hub. */
  registry: string;
  /** Repository path, e.g. `withobsrvr/stellar-live-source`. */
  repository: string;
  /** Tag, or a digest (`sha256:<hex>`). */
  version: string;
}

const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const DIGEST = /^sha256:[a-f0-9]{64}$/;
const HOST =
  /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])(?::[0-9]+)?$/;

/** The text form: `registry/repository:tag` or `registry/repository@digest`. */
export function formatReference(ref: ImageReference): string {
  const separator = DIGEST.test(ref.version) ? "@" : ":";
  return `${ref.registry}/${ref.repository}${separator}${ref.version}`;
}

/** Whether the first path segment of a name is a registry host rather than an organisation. */
function isHost(segment: string): boolean {
  return segment.includes(".") || segment.includes(":") || segment === "localhost";
}

/**
 * `type: name@version` of a registry component → its image reference. A name without `/` lives
 * under `defaultRegistry` (`docker.io/withobsrvr` unless FLOWCTL_COMPONENT_REGISTRY or
 * `--component-registry` say otherwise); with `/`, on Docker Hub, unless its first segment is a
 * host (`127.0.0.1:5000/org/name@v1`).
 * @throws {SyntaxError} naming what is wrong with `type`.
 */
export function componentReference(
  type: string,
  defaultRegistry: string = DEFAULT_COMPONENT_REGISTRY,
): ImageReference {
  const at = type.lastIndexOf("@");
  if (at <= 0 || at === type.length - 1) {
    throw new SyntaxError(`"${type}" is not a registry component: write it as "name@version"`);
  }
  const name = type.slice(0, at);
  const version = type.slice(at + 1);
  checkVersion(type, version);
  const segments = name.split("/");
  if (segments.length === 1) {
    const base = parseRegistryBase(defaultRegistry);
    return checked(type, { ...base, repository: joinPath(base.repository, name), version });
  }
  const [first = "", ...rest] = segments;
  if (isHost(first)) return checked(type, { registry: first, repository: rest.join("/"), version });
  return checked(type, { registry: "docker.io", repository: name, version });
}

/**
 * An `image` as docker writes it (`busybox`, `withobsrvr/source:1`, `127.0.0.1:5000/a/b@sha256:…`)
 * → its full reference, with docker's defaults: Docker Hub, `library/` for one-segment names,
 * tag `latest`.
 * @throws {SyntaxError} naming what is wrong with `image`.
 */
export function imageReference(image: string): ImageReference {
  let rest = image;
  let version = "latest";
  const at = rest.indexOf("@");
  if (at >= 0) {
    version = rest.slice(at + 1);
    rest = rest.slice(0, at);
  } else {
    const colon = rest.lastIndexOf(":");
    if (colon > rest.lastIndexOf("/")) {
      version = rest.slice(colon + 1);
      rest = rest.slice(0, colon);
    }
  }
  checkVersion(image, version);
  const segments = rest.split("/");
  const [first = "", ...others] = segments;
  if (segments.length > 1 && isHost(first)) {
    return checked(image, { registry: first, repository: others.join("/"), version });
  }
  const repository = segments.length === 1 ? `library/${rest}` : rest;
  return checked(image, { registry: "docker.io", repository, version });
}

/**
 * A registry with an optional path prefix (`docker.io/withobsrvr`, `127.0.0.1:5000`,
 * `ghcr.io/acme/components`), as FLOWCTL_COMPONENT_REGISTRY is written.
 * @throws {SyntaxError} when it is not one.
 */
export function parseRegistryBase(text: string): { registry: string; repository: string } {
  const [registry = "", ...path] = text.replace(/\/+$/, "").split("/");
  if (!HOST.test(registry) || path.some((segment) => !COMPONENT.test(segment))) {
    throw new SyntaxError(
      `invalid component registry "${text}": write a host with an optional path, like "docker.io/withobsrvr" or "127.0.0.1:5000"`,
    );
  }
  return { registry, repository: path.join("/") };
}

/** The base URL of a registry's API: Docker Hub's is registry-1.docker.io; loopback uses http. */
export function registryBaseUrl(registry: string): string {
  if (registry === "docker.io" || registry === "index.docker.io") {
    return "https://registry-1.docker.io";
  }
  return `${isLoopback(registry) ? "http" : "https"}://${registry}`;
}

/** Whether a registry host is on this machine (127.0.0.0/8, localhost, [::1]). */
export function isLoopback(registry: string): boolean {
  const host = registry.startsWith("[")
    ? registry.slice(0, registry.indexOf("]") + 1)
    : registry.split(":")[0] ?? "";
  return host === "localhost" || host === "[::1]" || /^127\.\d+\.\d+\.\d+$/.test(host);
}

function joinPath(prefix: string, name: string): string {
  return prefix ? `${prefix}/${name}` : name;
}

function checkVersion(written: string, version: string): void {
  if (!TAG.test(version) && !DIGEST.test(version)) {
    throw new SyntaxError(
      `invalid version "${version}" in "${written}": use a tag (letters, digits, ".", "_", "-") or a sha256 digest`,
    );
  }
}

function checked(written: string, ref: ImageReference): ImageReference {
  if (!HOST.test(ref.registry)) {
    throw new SyntaxError(`invalid registry host "${ref.registry}" in "${written}"`);
  }
  const bad = ref.repository.split("/").find((segment) => !COMPONENT.test(segment));
  if (bad !== undefined) {
    throw new SyntaxError(
      `invalid name "${ref.repository}" in "${written}": use lowercase letters, digits and "-", "_" or "." between them`,
    );
  }
  return ref;
}
