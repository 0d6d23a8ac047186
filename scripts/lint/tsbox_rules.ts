// Lint rules that keep tsbox's architecture (run by `deno lint`, see deno.json):
//   tsbox/dlopen-only-in-ffi   Deno.dlopen only under ffi/
//   tsbox/exit-only-in-main    Deno.exit only in main.ts
//   tsbox/no-cli-in-runtime    src/runtime/ never imports src/cli/
//   tsbox/error-style          error messages start lower-case (they chain with ": ")
//   tsbox/no-external-tools    product code starts no external program (Deno.Command)
//   tsbox/cgroup-files         only src/cgroups/ names cgroup files (tasks, cgroup.procs)
//   tsbox/thin-front-end       src/cli/ makes no kernel call and no SQL: it imports neither
//                              ffi/ nor src/state/ nor the runtime's or cgroups' acting modules

function isProduct(filename: string): boolean {
  return !/(_test\.ts|\/tests\/|\/scripts\/)/.test(filename);
}

const plugin: Deno.lint.Plugin = {
  name: "tsbox",
  rules: {
    "dlopen-only-in-ffi": {
      create(ctx) {
        return {
          'MemberExpression[object.name="Deno"][property.name="dlopen"]'(node) {
            if (!ctx.filename.includes("/ffi/")) {
              ctx.report({
                node,
                message: "Deno.dlopen is allowed only under ffi/ (the kernel boundary)",
              });
            }
          },
        };
      },
    },
    "exit-only-in-main": {
      create(ctx) {
        return {
          'MemberExpression[object.name="Deno"][property.name="exit"]'(node) {
            if (isProduct(ctx.filename) && !ctx.filename.endsWith("/main.ts")) {
              ctx.report({
                node,
                message: "only main.ts may call Deno.exit; throw a TsboxError instead",
              });
            }
          },
        };
      },
    },
    "no-cli-in-runtime": {
      create(ctx) {
        return {
          ImportDeclaration(node) {
            if (ctx.filename.includes("/src/runtime/") && /\/cli\//.test(node.source.value)) {
              ctx.report({
                node,
                message:
                  "src/runtime/ must not import src/cli/: the CLI calls the runtime, not the reverse",
              });
            }
          },
        };
      },
    },
    "thin-front-end": {
      create(ctx) {
        const acting =
          /(^|\/)ffi\/|\/state\/|\/runtime\/(executor|exec|process|console|hooks|userns)\.ts$|\/cgroups\/(open|fs|hybrid|driver_v[12]|v1\/|v2\/)/;
        return {
          ImportDeclaration(node) {
            if (!isProduct(ctx.filename) || !ctx.filename.includes("/src/cli/")) return;
            if (node.importKind === "type" || !acting.test(node.source.value)) return;
            ctx.report({
              node,
              message:
                "a front end (src/cli/) parses, validates and prints: it calls the engine (src/container/), not the kernel or the state database",
            });
          },
        };
      },
    },
    "error-style": {
      create(ctx) {
        return {
          NewExpression(node) {
            if (!isProduct(ctx.filename)) return;
            if (node.callee.type !== "Identifier" || !/Error$/.test(node.callee.name)) return;
            const first = node.arguments[0];
            let text: string | undefined;
            if (first?.type === "Literal" && typeof first.value === "string") text = first.value;
            if (first?.type === "TemplateLiteral") text = first.quasis[0]?.cooked ?? undefined;
            if (text && /^[A-Z][a-z]/.test(text)) {
              ctx.report({
                node: first!,
                message: 'error messages are lower-case fragments that chain with ": "',
              });
            }
          },
        };
      },
    },
    "cgroup-files": {
      create(ctx) {
        const check = (node: Deno.lint.Node, text: string | undefined) => {
          if (!text || !isProduct(ctx.filename)) return;
          // The errno hints (ffi/hints.ts) recognize cgroup files in messages; they open none.
          if (/\/src\/cgroups\/|\/ffi\/hints\.ts$/.test(ctx.filename)) return;
          if (/cgroup\.procs|\/tasks\b|^tasks$/.test(text)) {
            ctx.report({
              node,
              message: "cgroup files are named only in src/cgroups/: call the driver",
            });
          }
        };
        return {
          Literal(node) {
            if (typeof node.value === "string") check(node, node.value);
          },
          TemplateLiteral(node) {
            for (const q of node.quasis) check(node, q.cooked ?? undefined);
          },
        };
      },
    },
    "no-external-tools": {
      create(ctx) {
        return {
          'MemberExpression[object.name="Deno"][property.name="Command"]'(node) {
            if (isProduct(ctx.filename)) {
              ctx.report({
                node,
                message: "tsbox's runtime path uses only the kernel: no external programs",
              });
            }
          },
        };
      },
    },
  },
};
export default plugin;
