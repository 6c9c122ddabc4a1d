// Unit tests for the script splitter used by Hrana "sequence" requests.
import { describe, expect, it } from 'vitest';
import { splitSql } from './hrana-sql.ts';

describe('splitSql', () => {
  it('splits on semicolons outside quotes and comments', () => {
    expect(splitSql('SELECT \'a;b\'; SELECT "x;" -- c;\n; /* ; */ SELECT 3')).toEqual([
      "SELECT 'a;b'",
      'SELECT "x;" -- c;',
      '/* ; */ SELECT 3',
    ]);
  });

  it('drops empty and comment-only statements', () => {
    expect(splitSql(';; -- only a comment\n;')).toEqual([]);
  });

  it('keeps trigger bodies whole, including CASE ... END', () => {
    const trigger = `-- note\nCREATE TRIGGER tr AFTER INSERT ON t BEGIN
      UPDATE t SET v = CASE WHEN new.v > 0 THEN 1 ELSE 0 END WHERE id = new.id;
      DELETE FROM u;
    END`;
    expect(splitSql(`BEGIN; ${trigger}; COMMIT;`)).toEqual(['BEGIN', trigger, 'COMMIT']);
  });
});
