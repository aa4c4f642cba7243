import { assertEquals, assertThrows } from "../../tests/assert.ts";
import {
  componentReference,
  formatReference,
  imageReference,
  isLoopback,
  registryBaseUrl,
} from "./reference.ts";

const component = (type: string, base?: string) => formatReference(componentReference(type, base));
const image = (text: string) => formatReference(imageReference(text));

Deno.test("componentReference() follows the reference rules of registry components", () => {
  assertEquals(
    component("stellar-live-source@v1.2.0"),
    "docker.io/withobsrvr/stellar-live-source:v1.2.0",
  );
  assertEquals(component("acme/ttp-processor@latest"), "docker.io/acme/ttp-processor:latest");
  assertEquals(component("127.0.0.1:5000/org/name@v1"), "127.0.0.1:5000/org/name:v1");
  assertEquals(component("localhost/name@v1"), "localhost/name:v1");
  assertEquals(component("ghcr.io/acme/a/b@2"), "ghcr.io/acme/a/b:2");
  assertEquals(component("source@v1", "127.0.0.1:5000"), "127.0.0.1:5000/source:v1");
  assertEquals(component("source@v1", "127.0.0.1:5000/team/"), "127.0.0.1:5000/team/source:v1");
  const digest = `sha256:${"a".repeat(64)}`;
  assertEquals(component(`source@${digest}`), `docker.io/withobsrvr/source@${digest}`);
});

Deno.test("componentReference() says what is wrong with a type", () => {
  assertThrows(() => componentReference("source"), SyntaxError, 'write it as "name@version"');
  assertThrows(() => componentReference("source@"), SyntaxError, 'write it as "name@version"');
  assertThrows(
    () => componentReference("Source@v1"),
    SyntaxError,
    'invalid name "withobsrvr/Source"',
  );
  assertThrows(() => componentReference("source@v 1"), SyntaxError, 'invalid version "v 1"');
  assertThrows(
    () => componentReference("source@v1", "not a host"),
    SyntaxError,
    "invalid component registry",
  );
});

Deno.test("imageReference() applies docker's defaults", () => {
  assertEquals(image("busybox"), "docker.io/library/busybox:latest");
  assertEquals(image("withobsrvr/source:1.0"), "docker.io/withobsrvr/source:1.0");
  assertEquals(image("127.0.0.1:5000/a/b"), "127.0.0.1:5000/a/b:latest");
  assertEquals(image("localhost:5000/a:v2"), "localhost:5000/a:v2");
});

Deno.test("registryBaseUrl() uses registry-1.docker.io for Docker Hub and http on loopback only", () => {
  assertEquals(registryBaseUrl("docker.io"), "https://registry-1.docker.io");
  assertEquals(registryBaseUrl("127.0.0.1:5000"), "http://127.0.0.1:5000");
  assertEquals(registryBaseUrl("127.8.9.1:5000"), "http://127.8.9.1:5000");
  assertEquals(registryBaseUrl("localhost:5000"), "http://localhost:5000");
  assertEquals(registryBaseUrl("ghcr.io"), "https://ghcr.io");
  assertEquals(registryBaseUrl("10.0.0.1:5000"), "https://10.0.0.1:5000");
  assertEquals(isLoopback("[::1]:5000"), true);
  assertEquals(isLoopback("128.0.0.1"), false);
});
