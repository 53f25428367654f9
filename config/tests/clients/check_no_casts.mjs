// Fails when a TypeScript file escapes the type checker: `as` or `<T>` casts,
// non-null assertions (`x!`), `any`, or @ts-ignore / @ts-expect-error comments.
import { readFileSync } from "node:fs";
import ts from "typescript";

const found = [];
for (const file of process.argv.slice(2)) {
  const text = readFileSync(file, "utf8");
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const visit = (node) => {
    const kind =
      ts.isAsExpression(node) ? "as cast" :
      ts.isTypeAssertionExpression(node) ? "<T> cast" :
      ts.isNonNullExpression(node) ? "non-null assertion" :
      node.kind === ts.SyntaxKind.AnyKeyword ? "any" : null;
    if (kind) {
      const { line } = source.getLineAndCharacterOfPosition(node.getStart());
      found.push(`${file}:${line + 1}: ${kind}: ${node.getText()}`);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  text.split("\n").forEach((line, n) => {
    if (/@ts-(ignore|expect-error|nocheck)/.test(line)) found.push(`${file}:${n + 1}: ${line.trim()}`);
  });
}
if (found.length) {
  console.error(found.join("\n"));
  process.exit(1);
}
