// Builds the OCI images defined under images/ (pause, app, operator) into ~/.cache/dbcred/images,
// only those whose inputs changed, and prints one `name ref archive` line per image.
//   node scripts/build-images.ts [name...]
import { buildImages, IMAGE_NAMES, type ImageName } from '../harness/images.ts';

const wanted = process.argv.slice(2);
const unknown = wanted.filter((name) => !(IMAGE_NAMES as readonly string[]).includes(name));
if (unknown.length > 0) {
  console.error(`unknown image(s): ${unknown.join(', ')}; known: ${IMAGE_NAMES.join(', ')}`);
  process.exit(2);
}
const started = Date.now();
const images = await buildImages(wanted.length > 0 ? (wanted as ImageName[]) : IMAGE_NAMES);
for (const image of Object.values(images)) console.log(`${image.name} ${image.ref} ${image.archive}`);
console.error(`[build-images] ready in ${Date.now() - started} ms`);
