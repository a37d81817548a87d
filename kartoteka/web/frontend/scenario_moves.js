// Moving a step of the scenario editor between lists of steps: out of a branch (to just
// after the step that holds it), into the step above (the end of its first branch), or
// into any branch of the tree picked from a list ("Move to…"). Alt+arrow keys on a step's
// heading do what the buttons do: Alt+↑/↓ within its list, Alt+← out, Alt+→ into the
// step above. Paths are the server's (`steps[1].then[0]`).

/** The parts of a path: "steps[1].then[0]" -> ["steps", 1, "then", 0]. */
export function parsePath(path) {
  return [...path.matchAll(/([A-Za-z_]+)|\[(\d+)\]/g)].map((m) => (m[1] !== undefined ? m[1] : Number(m[2])));
}

/** What is at `path` under `root` (the definition): a step or a list of steps. */
export function at(root, path) {
  let x = root;
  for (const part of parsePath(path)) x = x === null || x === undefined ? undefined : x[part];
  return x;
}

/** The branch keys of a step that hold a list now (then/else, the loop's steps, on_error…). */
export function branchKeys(step, branchesOf) {
  return [...(branchesOf[step.type] || []), "on_error"].filter((key) => Array.isArray(step[key]));
}

/** Every list of steps in the tree, in reading order: [{path, steps, owner, key}]. */
export function listsOf(root, branchesOf) {
  const out = [{ path: "steps", steps: root.steps, owner: null, ownerPath: null, key: null }];
  const walk = (steps, path) =>
    steps.forEach((step, i) => {
      const here = `${path}[${i}]`;
      for (const key of branchKeys(step, branchesOf)) {
        out.push({ path: `${here}.${key}`, steps: step[key], owner: step, ownerPath: here, key });
        walk(step[key], `${here}.${key}`);
      }
    });
  walk(root.steps, "steps");
  return out;
}

/** The path of `step` (by identity) in the tree, or null. */
export function pathOf(root, step, branchesOf) {
  for (const list of listsOf(root, branchesOf)) {
    const i = list.steps.indexOf(step);
    if (i >= 0) return `${list.path}[${i}]`;
  }
  return null;
}

/** Where the step at `path` may move to with "Move to…": every list outside the step
 *  itself and other than its own. */
export function destinations(root, path, branchesOf) {
  const own = path.replace(/\[\d+\]$/, "");
  return listsOf(root, branchesOf).filter((l) => l.path !== own && !l.path.startsWith(`${path}.`));
}

/** The moves of the step at `path` (index `i` of `steps`), each a function that moves it
 *  and returns its new path, or null where that move is not possible. */
export function movesOf(root, steps, i, path, branchesOf) {
  const step = steps[i];
  const own = path.replace(/\[\d+\]$/, "");
  const done = () => pathOf(root, step, branchesOf);
  const moves = {
    up: i > 0 ? () => (steps.splice(i, 1), steps.splice(i - 1, 0, step), done()) : null,
    down: i < steps.length - 1 ? () => (steps.splice(i, 1), steps.splice(i + 1, 0, step), done()) : null,
    out: null,
    into: null,
  };
  if (own !== "steps") {
    // The branch's owner, and the list that holds the owner.
    const ownerPath = own.replace(/\.[A-Za-z_]+$/, "");
    const outer = at(root, ownerPath.replace(/\[\d+\]$/, ""));
    const owner = at(root, ownerPath);
    moves.out = () => {
      steps.splice(i, 1);
      outer.splice(outer.indexOf(owner) + 1, 0, step);
      return done();
    };
  }
  const above = i > 0 ? steps[i - 1] : null;
  const key = above ? branchKeys(above, branchesOf)[0] : null;
  if (key) moves.into = () => (steps.splice(i, 1), above[key].push(step), done());
  return moves;
}

/** Move the step to the end of the list at `target` (a path from `destinations`). */
export function moveTo(root, steps, i, target, branchesOf) {
  const step = steps[i];
  const list = at(root, target);
  if (!Array.isArray(list) || list === steps) return null;
  steps.splice(i, 1);
  list.push(step);
  return pathOf(root, step, branchesOf);
}

/** The Alt+arrow key's move name, or null. */
export function keyMove(e) {
  if (!e.altKey || e.ctrlKey || e.metaKey || e.shiftKey) return null;
  return { ArrowUp: "up", ArrowDown: "down", ArrowLeft: "out", ArrowRight: "into" }[e.key] || null;
}
