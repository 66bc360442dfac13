/**
 * Git objects as isomorphic-git reads them (its `TreeEntry` and `CommitObject`), described here
 * so that @anvil/server's declarations need none of isomorphic-git's types: the built package
 * carries isomorphic-git's code in its bundle, not the package itself.
 */

export interface TreeEntry {
  /** The 6-digit octal mode. */
  mode: string;
  /** The name of the file or folder. */
  path: string;
  oid: string;
  type: 'commit' | 'blob' | 'tree';
}

export interface GitPerson {
  name: string;
  email: string;
  timestamp: number;
  timezoneOffset: number;
}

export interface CommitObject {
  message: string;
  tree: string;
  parent: string[];
  author: GitPerson;
  committer: GitPerson;
  gpgsig?: string | undefined;
}
