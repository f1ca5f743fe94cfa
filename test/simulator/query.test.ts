import { compileQuery, type Row } from '../../src/simulator/query';

const items: Row[] = [
  { name: 'a', type: 'ether', distance: '1', comment: 'x' },
  { name: 'b', type: 'vlan', distance: '2', gateway: 'X' },
  { name: 'c', type: 'ether', distance: '10', gateway: 'X' },
  { name: 'd', type: 'bridge', distance: '3', comment: '' },
];

function names(queries: string[]): string {
  return items
    .filter(compileQuery(queries))
    .map((r) => r.name)
    .join('');
}

describe('query stack', () => {
  const cases: Array<[string[], string]> = [
    [[], 'abcd'],
    [['?type=ether'], 'ac'],
    [['?=type=ether'], 'ac'],
    [['?gateway'], 'bc'],
    [['?-gateway'], 'ad'],
    [['?comment'], 'ad'],
    [['?type=ether', '?type=vlan', '?#|'], 'abc'],
    [['?type=ether', '?type=vlan'], ''],
    [['?type=ether', '?gateway=X'], 'c'],
    [['?>distance=1', '?gateway=X', '?#&!'], 'ad'],
    [['?>distance=2'], 'cd'], // numeric: 10 > 2
    [['?<distance=3'], 'ab'],
    [['?<name=c'], 'ab'], // string comparison
    [['?>comment='], 'a'], // has a non-empty comment
    [['?comment='], 'bcd'], // missing equals empty
    [['?type=ether', '?#!'], 'bd'],
    [['?type=ether', '?type=vlan', '?type=bridge', '?#||'], 'abcd'],
    [['?type=ether', '?#.', '?#&'], 'ac'],
    [['?type=ether', '?type=vlan', '?#1'], 'ac'], // index at end: stack replaced by entry 1
    [['?type=ether', '?type=vlan', '?#0'], 'b'],
    [['?type=ether', '?gateway', '?#1.!&'], ''], // ether AND (gateway AND NOT ether): never
    [['?type=ether', '?gateway', '?#1.!&0'], 'b'], // ... then keep only the top: gateway AND NOT ether
    [['?type=ether', '?type=vlan', '?#1|'], 'ac'], // ether | copy(ether) leaves vlan below
    [['?name=nope'], ''],
  ];

  it.each(cases)('%j selects %s', (q, want) => {
    expect(names(q)).toBe(want);
  });

  it('rejects unknown ?# operations', () => {
    expect(() => compileQuery(['?#x'])).not.toThrow();
    expect(() => items.filter(compileQuery(['?#x']))).toThrow(/unknown query operation/);
  });
});
