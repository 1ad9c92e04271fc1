import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

const run = promisify(execFile);

/** PEM file paths of a certificate and its private key. */
export interface CertFiles {
  cert: string;
  key: string;
}

/** A throw-away certificate authority in a folder, able to issue server and client certificates. */
export interface LocalCA extends CertFiles {
  dir: string;
  issue(request: CertRequest): Promise<CertFiles>;
}

export interface CertRequest {
  /** File name stem in the CA folder. */
  name: string;
  commonName: string;
  organization?: string;
  usage: 'server' | 'client';
  dnsNames?: string[];
  ips?: string[];
}

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/** createCA makes a self-signed EC P-256 CA in dir (valid 1 year) with the openssl CLI. */
export async function createCA(dir: string, commonName = 'dbcred-local-ca'): Promise<LocalCA> {
  const ca = { cert: join(dir, 'ca.crt'), key: join(dir, 'ca.key') };
  await run('openssl', [
    'req',
    '-x509',
    '-new',
    ...EC_KEY,
    '-keyout',
    ca.key,
    '-out',
    ca.cert,
    '-days',
    '365',
    '-subj',
    `/CN=${commonName}`,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  return { ...ca, dir, issue: (request) => issue(dir, ca, request) };
}

async function issue(dir: string, ca: CertFiles, request: CertRequest): Promise<CertFiles> {
  const out = { cert: join(dir, `${request.name}.crt`), key: join(dir, `${request.name}.key`) };
  const csr = join(dir, `${request.name}.csr`);
  const ext = join(dir, `${request.name}.ext`);
  const subject = `/CN=${request.commonName}${request.organization ? `/O=${request.organization}` : ''}`;
  const sans = [...(request.dnsNames ?? []).map((d) => `DNS:${d}`), ...(request.ips ?? []).map((i) => `IP:${i}`)];
  const lines = [
    'basicConstraints=critical,CA:FALSE',
    'keyUsage=critical,digitalSignature,keyEncipherment',
    `extendedKeyUsage=${request.usage === 'server' ? 'serverAuth' : 'clientAuth'}`,
  ];
  if (sans.length > 0) lines.push(`subjectAltName=${sans.join(',')}`);
  await writeFile(ext, lines.join('\n') + '\n');
  await run('openssl', ['req', '-new', ...EC_KEY, '-keyout', out.key, '-out', csr, '-subj', subject]);
  await run('openssl', [
    'x509',
    '-req',
    '-in',
    csr,
    '-CA',
    ca.cert,
    '-CAkey',
    ca.key,
    '-CAcreateserial',
    '-out',
    out.cert,
    '-days',
    '365',
    '-extfile',
    ext,
  ]);
  return out;
}

/** createSigningKey writes an EC P-256 key pair (PEM) used to sign and verify service-account tokens. */
export async function createSigningKey(dir: string, name: string): Promise<{ privateKey: string; publicKey: string }> {
  const privateKey = join(dir, `${name}.key`);
  const publicKey = join(dir, `${name}.pub`);
  await run('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', privateKey]);
  await run('openssl', ['pkey', '-in', privateKey, '-pubout', '-out', publicKey]);
  return { privateKey, publicKey };
}

/**
 * openCA uses an existing CA (such as the control plane's pki/ca.crt and ca.key) to issue
 * certificates into outDir, so a component started later (a node) gets credentials the apiserver trusts.
 */
export function openCA(ca: CertFiles, outDir: string): LocalCA {
  return { ...ca, dir: outDir, issue: (request) => issue(outDir, ca, request) };
}
