// parse.cjs - syntax check of PowerShell scripts with the tree-sitter PowerShell grammar.
// Usage: node parse.cjs MODULES_DIR FILE...   (MODULES_DIR holds node_modules from package.json)
// Prints file:line:column for every ERROR or MISSING node and exits 1 if there is any;
// exits 2 if the parser itself cannot be loaded. A grammar is not PowerShell itself: see
// docs/BUILDING.md for what this does and does not prove.
'use strict';
const fs = require('fs');
const path = require('path');
const { createRequire } = require('module');
const v8 = require('v8');

// The grammar is a large WebAssembly module. By default V8 also optimises it in background
// threads and waits for them at exit: tens of CPU seconds. The baseline compiler is plenty
// for a few scripts. (Flags V8 does not know are ignored.)
for (const flag of ['--liftoff', '--no-wasm-tier-up', '--no-wasm-dynamic-tiering'])
    v8.setFlagsFromString(flag);

async function main() {
    const [modulesDir, ...files] = process.argv.slice(2);
    if (!modulesDir || files.length === 0) {
        console.error('usage: node parse.cjs MODULES_DIR FILE...');
        return 2;
    }
    const req = createRequire(path.join(path.resolve(modulesDir), 'package.json'));
    const { Parser, Language } = req('web-tree-sitter');
    await Parser.init();
    const language = await Language.load(req.resolve('tree-sitter-powershell/tree-sitter-powershell.wasm'));
    const parser = new Parser();
    parser.setLanguage(language);

    let problems = 0;
    for (const file of files) {
        const before = problems;
        const source = fs.readFileSync(file, 'utf8');
        const tree = parser.parse(source);
        if (!tree) {
            console.log(`${file}: the parser returned no tree`);
            problems++;
            continue;
        }
        // Depth-first over all nodes; report only the outermost ERROR of a subtree.
        const stack = [tree.rootNode];
        while (stack.length > 0) {
            const node = stack.pop();
            if (node.isMissing || node.type === 'ERROR') {
                const where = `${file}:${node.startPosition.row + 1}:${node.startPosition.column + 1}`;
                const text = source.slice(node.startIndex, Math.min(node.endIndex, node.startIndex + 60))
                    .split('\n')[0];
                console.log(node.isMissing ? `${where}: missing "${node.type}"`
                                           : `${where}: syntax error at: ${text}`);
                problems++;
                if (node.type === 'ERROR')
                    continue;
            }
            for (let i = node.childCount - 1; i >= 0; i--)
                stack.push(node.child(i));
        }
        if (tree.rootNode.hasError && problems === before) {
            console.log(`${file}: the tree has an error the walk did not find`);
            problems++;
        }
        tree.delete();
    }
    return problems === 0 ? 0 : 1;
}

main().then((code) => process.exit(code), (err) => {
    console.error(`parse.cjs: ${err && err.stack ? err.stack : err}`);
    process.exit(2);
});
