// openapi-typescript's Node API: schema.json -> schema.ts. The one transform is the
// one its documentation gives for uploads: a binary field is a Blob (the CLI would
// type it as a string), so the upload's FormData body type-checks as it is.
import { readFileSync, writeFileSync } from "node:fs";
import openapiTS, { astToString } from "openapi-typescript";
import ts from "typescript";

const BLOB = ts.factory.createTypeReferenceNode(ts.factory.createIdentifier("Blob"));
const [input, output] = process.argv.slice(2);
const ast = await openapiTS(JSON.parse(readFileSync(input, "utf8")), {
  transform(schemaObject) {
    if (schemaObject.format === "binary") return BLOB;
    return undefined;
  },
});
writeFileSync(output, astToString(ast));
