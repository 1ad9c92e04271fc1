import { readFile, writeFile } from 'node:fs/promises';

/** kubeconfigYaml renders a single-context kubeconfig with inline client-certificate credentials. */
export async function writeKubeconfig(
  path: string,
  options: { server: string; caFile: string; certFile: string; keyFile: string; user: string },
): Promise<void> {
  const b64 = async (file: string) => (await readFile(file)).toString('base64');
  const yaml = `apiVersion: v1
kind: Config
clusters:
- name: dbcred-local
  cluster:
    server: ${options.server}
    certificate-authority-data: ${await b64(options.caFile)}
users:
- name: ${options.user}
  user:
    client-certificate-data: ${await b64(options.certFile)}
    client-key-data: ${await b64(options.keyFile)}
contexts:
- name: dbcred-local
  context:
    cluster: dbcred-local
    user: ${options.user}
current-context: dbcred-local
`;
  await writeFile(path, yaml, { mode: 0o600 });
}
