/**
 * TLS material for tests, made with openssl: a CA, an engine (server) certificate for given IP
 * addresses, and a client certificate, laid out as the docker CLI expects them (`ca.pem`,
 * `cert.pem`, `key.pem` in a client folder; `ca.pem`, `server-cert.pem`, `server-key.pem` for
 * dockerd's `--tlscacert`, `--tlscert`, `--tlskey`).
 */

export interface EngineCertificates {
  /** The folder for `DOCKER_CERT_PATH`: ca.pem, cert.pem, key.pem. */
  readonly clientDir: string;
  /** dockerd's arguments to listen on `tcp://<address>:<port>` with TLS, verifying clients. */
  dockerdArgs(address: string, port: number): string[];
}

/** Makes a CA, a server certificate for `addresses` and a client certificate under `dir`. */
export async function makeEngineCertificates(
  dir: string,
  addresses: readonly string[],
): Promise<EngineCertificates> {
  const clientDir = `${dir}/client`;
  await Deno.mkdir(clientDir, { recursive: true });
  await makeCa(dir, "ca");
  await signed(dir, "server", "flowctl-test-engine", [
    "extendedKeyUsage=serverAuth",
    `subjectAltName=${addresses.map((a) => `IP:${a}`).join(",")}`,
  ]);
  await signed(dir, "client", "flowctl-test-client", ["extendedKeyUsage=clientAuth"]);
  await Deno.copyFile(`${dir}/ca.pem`, `${clientDir}/ca.pem`);
  await Deno.copyFile(`${dir}/client-cert.pem`, `${clientDir}/cert.pem`);
  await Deno.copyFile(`${dir}/client-key.pem`, `${clientDir}/key.pem`);
  return {
    clientDir,
    dockerdArgs: (address, port) => [
      "--host",
      `tcp://${address}:${port}`,
      "--tlsverify",
      "--tlscacert",
      `${dir}/ca.pem`,
      "--tlscert",
      `${dir}/server-cert.pem`,
      "--tlskey",
      `${dir}/server-key.pem`,
    ],
  };
}

/** A self-signed CA as `<name>.pem` and `<name>-key.pem` in `dir`. */
export async function makeCa(dir: string, name: string): Promise<void> {
  await openssl([
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-days",
    "2",
    "-subj",
    `/CN=${name}-flowctl-test-ca`,
    "-keyout",
    `${dir}/${name}-key.pem`,
    "-out",
    `${dir}/${name}.pem`,
  ]);
}

async function signed(dir: string, name: string, cn: string, extensions: string[]) {
  await openssl([
    "req",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-subj",
    `/CN=${cn}`,
    "-keyout",
    `${dir}/${name}-key.pem`,
    "-out",
    `${dir}/${name}.csr`,
  ]);
  await Deno.writeTextFile(`${dir}/${name}.ext`, extensions.join("\n") + "\n");
  await openssl([
    "x509",
    "-req",
    "-in",
    `${dir}/${name}.csr`,
    "-CA",
    `${dir}/ca.pem`,
    "-CAkey",
    `${dir}/ca-key.pem`,
    "-CAcreateserial",
    "-days",
    "2",
    "-extfile",
    `${dir}/${name}.ext`,
    "-out",
    `${dir}/${name}-cert.pem`,
  ]);
}

async function openssl(args: string[]): Promise<void> {
  const { code, stderr } = await new Deno.Command("openssl", {
    args,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).output();
  if (code !== 0) {
    throw new Error(`openssl ${args[0]} failed (${code}): ${new TextDecoder().decode(stderr)}`);
  }
}
