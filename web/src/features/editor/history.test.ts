import { describe, expect, it } from 'vitest';
import { greetingGraph } from '../../../../chain/index.ts';
import { applyCommand, History, removeCommand, type Command } from './history.ts';
import type { Graph } from './editor.types.ts';

const graph = (): Graph => structuredClone(greetingGraph);

function run(g: Graph, history: History, command: Command): void {
  applyCommand(g, command);
  history.push(command);
}

describe('editor history', () => {
  it('undoes a rename of the chain', () => {
    const g = graph();
    const history = new History();
    run(g, history, { kind: 'update-settings', before: { name: g.name }, after: { name: 'Hello bot' }, at: 0 });
    run(g, history, { kind: 'update-settings', before: { description: g.description }, after: { description: '' }, at: 5000 });
    expect(g).toMatchObject({ name: 'Hello bot' });
    expect(g.description).toBeUndefined();
    history.undo(g);
    history.undo(g);
    expect(g).toEqual(greetingGraph);
  });

  it('undoes and redoes adds, moves, edits and removals back to the exact graph', () => {
    const g = graph();
    const original = structuredClone(g);
    const history = new History();
    run(g, history, { kind: 'add-node', node: { id: 'extra', type: 'message', position: { x: 1, y: 2 }, data: { text: 'Hi' } }, index: g.nodes.length });
    run(g, history, { kind: 'move-node', id: 'ask_name', from: { ...g.nodes.find((n) => n.id === 'ask_name')!.position }, to: { x: 999, y: 9 } });
    run(g, history, { kind: 'update-node', id: 'extra', before: { data: { text: 'Hi' } }, after: { data: { text: 'Hello' } }, at: 0 });
    run(g, history, removeCommand(g, new Set(['name_known']))!);
    expect(g.nodes.some((n) => n.id === 'name_known')).toBe(false);
    expect(g.edges.some((e) => e.source === 'name_known' || e.target === 'name_known')).toBe(false);
    const edited = structuredClone(g);

    while (history.canUndo) history.undo(g);
    expect(g).toEqual(original);
    while (history.canRedo) history.redo(g);
    expect(g).toEqual(edited);
  });

  it('keeps a drag of many nodes as one step', () => {
    const g = graph();
    const history = new History();
    const before = structuredClone(g);
    run(g, history, { kind: 'bulk', label: 'move', commands: g.nodes.map((n) => ({ kind: 'move-node', id: n.id, from: { ...n.position }, to: { x: n.position.x + 50, y: n.position.y } })) });
    expect(history.size).toBe(1);
    history.undo(g);
    expect(g).toEqual(before);
  });

  it('merges quick typing in one field into one step, and keeps at least 100 steps', () => {
    const g = graph();
    const history = new History();
    for (let i = 0; i < 5; i++) run(g, history, { kind: 'update-node', id: 'ask_name', before: { label: `L${i}` }, after: { label: `L${i + 1}` }, at: i * 100 });
    expect(history.size).toBe(1);
    // Another field of the same node, however quick, is a step of its own.
    run(g, history, { kind: 'update-node', id: 'ask_name', before: { data: { prompt: 'a', retries: 1 } }, after: { data: { prompt: 'a', retries: 2 } }, at: 600 });
    run(g, history, { kind: 'update-node', id: 'ask_name', before: { data: { prompt: 'a', retries: 2 } }, after: { data: { prompt: 'b', retries: 2 } }, at: 700 });
    expect(history.size).toBe(3);
    for (let i = 0; i < 150; i++) run(g, history, { kind: 'move-node', id: 'ask_name', from: { x: i, y: 0 }, to: { x: i + 1, y: 0 } });
    let undone = 0;
    while (history.undo(g)) undone++;
    expect(undone).toBeGreaterThanOrEqual(100);
  });

  it('clears redo after a new edit', () => {
    const g = graph();
    const history = new History();
    run(g, history, { kind: 'move-node', id: 'ask_name', from: { x: 0, y: 0 }, to: { x: 1, y: 1 } });
    history.undo(g);
    expect(history.canRedo).toBe(true);
    run(g, history, { kind: 'move-node', id: 'ask_name', from: { x: 0, y: 0 }, to: { x: 2, y: 2 } });
    expect(history.canRedo).toBe(false);
  });
});
