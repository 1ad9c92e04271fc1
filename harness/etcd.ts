/** etcdRevision returns the current revision of an etcd server (through its JSON gateway). */
export async function etcdRevision(endpoint: string): Promise<number> {
  const res = await fetch(`${endpoint}/v3/kv/range`, {
    method: 'POST',
    body: JSON.stringify({ key: Buffer.from('/').toString('base64') }),
  });
  const body = (await res.json()) as { header: { revision: string } };
  return Number(body.header.revision);
}

/** compactEtcd compacts etcd's history up to its current revision, so older resourceVersions are gone (410). */
export async function compactEtcd(endpoint: string): Promise<number> {
  const revision = await etcdRevision(endpoint);
  const res = await fetch(`${endpoint}/v3/kv/compaction`, {
    method: 'POST',
    body: JSON.stringify({ revision: String(revision), physical: true }),
  });
  if (!res.ok) throw new Error(`etcd compaction failed: ${res.status} ${await res.text()}`);
  return revision;
}
