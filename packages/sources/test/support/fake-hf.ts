import { type Answer, loopbackServer, send } from './http-server.js';

/** The headers Hugging Face answers a HEAD of an LFS file's resolve URL with (a 302 to its CDN). */
export function lfsHead(sha256: string, size: number, commit = 'c'.repeat(40)): Answer {
  return {
    status: 302,
    headers: {
      location: 'https://cdn-lfs.hf.co/repos/x?X-Amz-Signature=1',
      'x-repo-commit': commit,
      'x-linked-etag': `"${sha256}"`,
      'x-linked-size': String(size),
      etag: 'W/"redirect"',
      'content-length': '1234',
    },
  };
}

/** A small file kept in git: its ETag is the blob's SHA-1. */
export function gitHead(sha1: string, size: number): Answer {
  return {
    status: 200,
    headers: { etag: `"${sha1}"`, 'content-length': String(size), 'x-repo-commit': 'd'.repeat(40) },
  };
}

/** A fake Hub: `files` maps a request path (`/owner/repo/resolve/main/x.safetensors`) to its answer. */
export function fakeHf(files: Record<string, Answer> = {}) {
  const server = loopbackServer((req, res) => send(res, files[req.url!]));
  return Object.assign(server, { files });
}
