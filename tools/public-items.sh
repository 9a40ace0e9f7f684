#!/usr/bin/env bash
# Counts the public API of the `gencast` library crate: the items a user can name from the crate
# root.
#
# Builds rustdoc's JSON description of the crate with the nightly toolchain (the format is
# unstable), in its own target folder so that the stable build cache is untouched, and walks it
# from the root module: through public modules, and through public re-exports (`pub use`, globs
# included) to the items they name. Each item of the crate is counted once, however many paths
# reach it. Counted are
#   - items: modules, structs, enums, unions, traits, functions, constants, statics, type
#     aliases and macros;
#   - members: the fields of structs and variants, enum variants, the items of inherent impls
#     (methods, associated constants and types) and of traits.
# Items hidden from the docs (`#[doc(hidden)]`) and trait impls are not counted. With
# `--list`, prints each counted item's path.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
target="${CARGO_TARGET_DIR:-$root/target}/public-items"
CARGO_TARGET_DIR="$target" cargo +nightly rustdoc -q -p gencast --lib -- \
  -Z unstable-options --output-format json
python3 - "$target/doc/gencast.json" "$@" <<'PY'
import json
import sys

doc = json.load(open(sys.argv[1]))
show = "--list" in sys.argv[2:]
index = {str(k): v for k, v in doc["index"].items()}
ITEMS = {"module", "struct", "enum", "union", "trait", "function", "constant", "static",
         "type_alias", "macro", "proc_macro", "trait_alias"}


def kind(item):
    (k,) = item["inner"].keys()
    return k


def local(i):
    """The crate's own item with id `i`, or None (another crate's, or stripped)."""
    item = index.get(str(i)) if i is not None else None
    return item if item is not None and item.get("crate_id") == 0 else None


items, members = {}, {}


def member(i, path):
    item = local(i)
    if item is None or str(i) in members:
        return
    members[str(i)] = path
    inner = item["inner"]
    if "variant" in inner:
        vk = inner["variant"]["kind"]
        fields = vk.get("struct", {}).get("fields", []) if isinstance(vk, dict) else []
        fields += [f for f in (vk.get("tuple", []) if isinstance(vk, dict) else []) if f is not None]
        for f in fields:
            member(f, path + "::" + str(local(f) and local(f).get("name")))


def visit(i, path):
    item = local(i)
    if item is None:
        return
    k = kind(item)
    if k == "use":
        use = item["inner"]["use"]
        target = local(use.get("id"))
        if use.get("is_glob"):
            if target is not None and kind(target) == "module":
                for c in target["inner"]["module"]["items"]:
                    visit(c, path)
            elif target is not None and kind(target) == "enum":
                for v in target["inner"]["enum"]["variants"]:
                    member(v, path + "::" + str(local(v) and local(v)["name"]))
            return
        visit(use.get("id"), path + "::" + use["name"])
        return
    if k not in ITEMS or str(i) in items:
        return
    items[str(i)] = path
    inner = item["inner"][k]
    if k == "module":
        for c in inner["items"]:
            child = local(c)
            name = child.get("name") if child else None
            visit(c, f"{path}::{name}" if name else path)
        return
    impls = inner.get("impls", []) if isinstance(inner, dict) else []
    for imp in impls:
        imp_item = local(imp)
        if imp_item is None:
            continue
        imp = imp_item["inner"]["impl"]
        if imp.get("trait") is None and not imp.get("is_synthetic") and imp.get("blanket_impl") is None:
            for m in imp["items"]:
                member(m, path + "::" + str(local(m) and local(m).get("name")))
    if k == "struct":
        sk = inner["kind"]
        fields = sk.get("plain", {}).get("fields", []) if isinstance(sk, dict) else []
        fields += [f for f in (sk.get("tuple", []) if isinstance(sk, dict) else []) if f is not None]
        for f in fields:
            member(f, path + "::" + str(local(f) and local(f).get("name")))
    if k == "enum":
        for v in inner["variants"]:
            member(v, path + "::" + str(local(v) and local(v)["name"]))
    if k == "trait":
        for m in inner["items"]:
            member(m, path + "::" + str(local(m) and local(m).get("name")))


visit(doc["root"], "gencast")
if show:
    for p in sorted(items.values()):
        print("item", p)
    for p in sorted(members.values()):
        print("member", p)
modules = sum(1 for i in items if kind(index[i]) == "module")
print(f"public items: {len(items)} ({modules} modules), members: {len(members)}, "
      f"total: {len(items) + len(members)}")
PY
