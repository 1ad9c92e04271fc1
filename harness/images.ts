import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from './binaries.ts';
import { CACHE_DIR } from './stack.ts';

const run = promisify(execFile);

/** The images defined under images/: one folder each, with rootfs.sh and config.json. */
export const IMAGE_NAMES = ['pause', 'app', 'operator'] as const;
export type ImageName = (typeof IMAGE_NAMES)[number];

/** A built image: its reference (what pods name) and the OCI archive that `ctr images import` reads. */
export interface BuiltImage {
  name: ImageName;
  ref: string;
  archive: string;
}

/** Where the OCI archives are cached, outside the checkout. */
export const IMAGES_DIR = join(CACHE_DIR, 'images');
const DEFINITIONS = join(REPO_ROOT, 'images');

// The fields of an OCI image config (`config` in the image configuration) a definition may set.
interface ImageConfig {
  User?: string;
  Env?: string[];
  Entrypoint?: string[];
  Cmd?: string[];
  WorkingDir?: string;
}

/**
 * buildImage returns the image's OCI archive, building it only when the cache has none for the
 * current inputs (the definition's files plus what `rootfs.sh inputs` prints: digests of the binaries,
 * libraries and sources it copies). The tag is derived from those inputs, so a changed input gives a
 * new reference and containerd never runs a stale image.
 */
export async function buildImage(name: ImageName): Promise<BuiltImage> {
  if (name === 'operator') return buildOperatorImage();
  const definition = join(DEFINITIONS, name);
  const script = join(definition, 'rootfs.sh');
  const { stdout: inputs } = await run('bash', [script, 'inputs'], { maxBuffer: 16 * 1024 * 1024 });
  const hash = createHash('sha256');
  for (const file of [join(DEFINITIONS, 'lib.sh'), script, join(definition, 'config.json')]) hash.update(await readFile(file));
  hash.update(inputs);
  const tag = hash.digest('hex').slice(0, 16);
  const image: BuiltImage = { name, ref: `localhost/dbcred/${name}:${tag}`, archive: join(IMAGES_DIR, `${name}-${tag}.oci.tar`) };
  if (await exists(image.archive)) return image;

  await mkdir(IMAGES_DIR, { recursive: true });
  const work = await mkdtemp(join(IMAGES_DIR, `.build-${name}-`));
  try {
    const rootfs = join(work, 'rootfs');
    await mkdir(rootfs);
    await run('bash', [script, 'build', rootfs], { maxBuffer: 64 * 1024 * 1024, timeout: 10 * 60_000 }).catch((error: unknown) => {
      const stderr = ((error as { stderr?: string }).stderr ?? '').trim().split('\n').slice(-15).join('\n');
      throw new Error(`building the ${name} image failed (images/${name}/rootfs.sh):\n${stderr}`, { cause: error });
    });
    const config = JSON.parse(await readFile(join(definition, 'config.json'), 'utf8')) as ImageConfig;
    await writeOciArchive(work, rootfs, config, image);
    await pruneOtherTags(name, image.archive);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  return image;
}

/** The operator image's name as the chart's default names it (image.repository). */
export const OPERATOR_REPOSITORY = 'docker.io/dbcred/operator';

/**
 * buildOperatorImage builds the operator from the repository's Containerfile with buildah, as users
 * build it (scripts/build-operator-image.sh), into a docker archive; it is rebuilt only when the
 * build's inputs change, and tagged with their digest (the chart's appVersion tag is added too).
 */
async function buildOperatorImage(): Promise<BuiltImage> {
  const hash = createHash('sha256');
  const files = [
    'Containerfile',
    '.dockerignore',
    'scripts/build-operator-image.sh',
    'scripts/make-node-base-image.sh',
    'package.json',
    'package-lock.json',
    'tsconfig.json',
    'tsconfig.build.json',
    ...(await readdir(join(REPO_ROOT, 'src'), { recursive: true })).map((f) => join('src', f)).sort(),
  ];
  for (const file of files) {
    const path = join(REPO_ROOT, file);
    if ((await stat(path)).isFile()) hash.update(file).update(await readFile(path));
  }
  const tag = hash.digest('hex').slice(0, 16);
  const image: BuiltImage = {
    name: 'operator',
    ref: `${OPERATOR_REPOSITORY}:${tag}`,
    archive: join(IMAGES_DIR, `operator-${tag}.docker.tar`),
  };
  if (await exists(image.archive)) return image;
  await mkdir(IMAGES_DIR, { recursive: true });
  const { version } = JSON.parse(await readFile(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
  await run(
    'bash',
    [join(REPO_ROOT, 'scripts', 'build-operator-image.sh'), image.archive, image.ref, `${OPERATOR_REPOSITORY}:${version}`],
    {
      maxBuffer: 64 * 1024 * 1024,
      timeout: 20 * 60_000,
    },
  ).catch((error: unknown) => {
    const stderr = ((error as { stderr?: string }).stderr ?? '').trim().split('\n').slice(-15).join('\n');
    throw new Error(`building the operator image from the Containerfile failed:\n${stderr}`, { cause: error });
  });
  await pruneOtherTags('operator', image.archive);
  return image;
}

/** buildImages builds (or finds in the cache) every named image, one after the other. */
export async function buildImages(names: readonly ImageName[] = IMAGE_NAMES): Promise<Record<ImageName, BuiltImage>> {
  const built: Partial<Record<ImageName, BuiltImage>> = {};
  for (const name of names) built[name] = await buildImage(name);
  return built as Record<ImageName, BuiltImage>;
}

// One uncompressed layer (containerd accepts it, and gzip would only cost CPU on every rebuild),
// written with fixed timestamps and sorted names so equal inputs give equal digests.
async function writeOciArchive(work: string, rootfs: string, config: ImageConfig, image: BuiltImage): Promise<void> {
  const layout = join(work, 'layout');
  const blobs = join(layout, 'blobs', 'sha256');
  await mkdir(blobs, { recursive: true });
  const layerFile = join(work, 'layer.tar');
  await run('tar', ['--sort=name', '--mtime=@0', '--numeric-owner', '--xattrs', '-C', rootfs, '-cf', layerFile, '.']);
  const layer = await addBlob(blobs, layerFile);

  const imageConfig = {
    architecture: 'amd64',
    os: 'linux',
    config,
    rootfs: { type: 'layers', diff_ids: [layer.digest] },
    history: [{ created_by: `dbcred images/${image.name}/rootfs.sh` }],
  };
  const configBlob = await addJsonBlob(blobs, imageConfig);
  const manifest = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...configBlob },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', ...layer }],
  };
  const manifestBlob = await addJsonBlob(blobs, manifest);
  const index = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [
      {
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        ...manifestBlob,
        platform: { architecture: 'amd64', os: 'linux' },
        // containerd names the imported image after io.containerd.image.name.
        annotations: { 'io.containerd.image.name': image.ref, 'org.opencontainers.image.ref.name': image.ref.split(':').pop() },
      },
    ],
  };
  await writeFile(join(layout, 'index.json'), JSON.stringify(index));
  await writeFile(join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  const partial = `${image.archive}.partial-${process.pid}`;
  await run('tar', [
    '--sort=name',
    '--mtime=@0',
    '--owner=0',
    '--group=0',
    '-C',
    layout,
    '-cf',
    partial,
    'oci-layout',
    'index.json',
    'blobs',
  ]);
  await rename(partial, image.archive);
}

interface Blob {
  digest: string;
  size: number;
}

async function addBlob(blobs: string, file: string): Promise<Blob> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  const hex = hash.digest('hex');
  const { size } = await stat(file);
  await rename(file, join(blobs, hex));
  return { digest: `sha256:${hex}`, size };
}

async function addJsonBlob(blobs: string, value: unknown): Promise<Blob> {
  const bytes = Buffer.from(JSON.stringify(value));
  const hex = createHash('sha256').update(bytes).digest('hex');
  await writeFile(join(blobs, hex), bytes);
  return { digest: `sha256:${hex}`, size: bytes.length };
}

// The cache keeps one archive per image: the one for the current inputs.
async function pruneOtherTags(name: ImageName, keep: string): Promise<void> {
  for (const entry of await readdir(IMAGES_DIR)) {
    const path = join(IMAGES_DIR, entry);
    if (entry.startsWith(`${name}-`) && /\.(oci|docker)\.tar$/.test(entry) && path !== keep) await rm(path, { force: true });
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}
