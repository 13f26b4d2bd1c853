import { readFileSync, writeFileSync } from 'node:fs';

/** Flips one bit of the file's last byte in place: same size, same inode, other content. */
export function flipLastByte(file: string): void {
  const body = readFileSync(file);
  body[body.length - 1]! ^= 0x01;
  writeFileSync(file, body);
}
