import { readFile, stat } from 'node:fs/promises'
import { resolve, sep } from 'node:path'

/**
 * Reads static files from a directory (Node, Deno and Bun): the app's `AssetSource`. Paths with NUL, `..` segments or
 * anything resolving outside `root` are refused (null), as are directories.
 */
export class DirectoryAssets {
  private readonly root: string

  constructor(root: string) {
    this.root = resolve(root)
  }

  /** The file's bytes at a URL path (`/a/b.png`), or null (missing, a directory, or outside). */
  async get(path: string): Promise<Uint8Array<ArrayBuffer> | null> {
    if (path.includes('\0') || path.split(/[\\/]/).includes('..')) return null
    const file = resolve(this.root, `.${path}`)
    if (!file.startsWith(this.root + sep)) return null
    try {
      if (!(await stat(file)).isFile()) return null
      return new Uint8Array(await readFile(file))
    } catch {
      return null
    }
  }
}
