/**
 * The fields of a `/proc/<pid>/stat` line from field 3 (state) on: the command name (field 2) may hold spaces
 * and parentheses, so they start after its last ')'. Field n of proc(5) is at index n - 3.
 */
export function statFieldsAfterCommand(stat: string): string[] {
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}
