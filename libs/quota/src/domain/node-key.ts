import { NodeRef } from './quota';

/**
 * A node's identity as one string, used by both stores: `o`, `p|<project>`, `u|<project>|<user>`.
 * Unambiguous because ids never contain `|` (QUOTA_ID_PATTERN).
 */
export function nodeKey(node: NodeRef): string {
  switch (node.level) {
    case 'org':
      return 'o';
    case 'project':
      return `p|${node.projectId}`;
    case 'user':
      return `u|${node.projectId}|${node.userId}`;
  }
}

/** The three nodes a hold of (project, user) touches, top first. */
export function holdNodes(projectId: string, userId: string): [NodeRef, NodeRef, NodeRef] {
  return [{ level: 'org' }, { level: 'project', projectId }, { level: 'user', projectId, userId }];
}

/** The node a nodeKey names, or null when the string is not one. */
export function nodeOfKey(key: string): NodeRef | null {
  const parts = key.split('|');
  if (parts.length === 1 && parts[0] === 'o') return { level: 'org' };
  if (parts.length === 2 && parts[0] === 'p') return { level: 'project', projectId: parts[1] };
  if (parts.length === 3 && parts[0] === 'u') return { level: 'user', projectId: parts[1], userId: parts[2] };
  return null;
}
