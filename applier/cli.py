"""`os-apply-config`: render the template tree from the merged metadata, or look up one key.

Options and exit codes are os-apply-config's. Differences: a file is written only when its content,
mode or owner would change (atomically, with fsync); every template is rendered and checked before
the first write; `-m` may be repeated; errors never print a traceback.
"""
from __future__ import annotations

import argparse
import gc
import sys

from applier import keys, log, metadata, templates
from applier.errors import ApplyError
from applier.plan import observe, plan
from applier.render import render_tree
from applier.writer import apply

VERSION = "stoker 0.1.0 (os-apply-config compatible)"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="os-apply-config",
        description="Merge the JSON metadata files ($OS_CONFIG_FILES, or --metadata, or the list in "
                    "--os-config-files) and render the template tree into the output root, writing "
                    "only files that change.")
    p.add_argument("-t", "--templates", metavar="TEMPLATE_ROOT",
                   help="template root (default: $OS_CONFIG_APPLIER_TEMPLATES or "
                        f"{templates.DEFAULT_TEMPLATES_DIR})")
    p.add_argument("-o", "--output", metavar="OUT_DIR", default="/",
                   help="root directory for output (default: %(default)s)")
    p.add_argument("-m", "--metadata", metavar="METADATA_FILE", nargs="*", action="extend",
                   help="metadata files, merged in order (overrides $OS_CONFIG_FILES); may be repeated")
    p.add_argument("--fallback-metadata", metavar="FILE", nargs="*",
                   default=list(metadata.FALLBACK_METADATA),
                   help="files always merged first, at the lowest priority (default: %(default)s)")
    p.add_argument("-v", "--validate", action="store_true",
                   help="render and check everything (executable templates do run) but write nothing")
    p.add_argument("--print-templates", action="store_true", help="print the template root and exit")
    p.add_argument("-s", "--subhash", help="use the sub-hash named by this dotted key as the context")
    p.add_argument("--key", metavar="KEY", help="print the value at this dotted key and exit")
    p.add_argument("--type", default="default",
                   help="with --key: fail unless the value matches this type: "
                        + "|".join(keys.VALUE_TYPES) + " (default: %(default)s)")
    p.add_argument("--key-default", help="with --key: print this when the key is missing (not type checked)")
    p.add_argument("--boolean-key", metavar="KEY",
                   help="exit 0 if KEY is true, 1 if false, 255 if not a boolean (ignored with --key)")
    p.add_argument("--os-config-files", metavar="PATH",
                   help="JSON list of metadata files (default: $OS_CONFIG_FILES_PATH or "
                        f"{metadata.OS_CONFIG_FILES_PATH})")
    p.add_argument("--version", action="version", version=VERSION)
    return p


def main(argv: list[str] | None = None) -> int:
    opts = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    template_root = opts.templates or templates.default_dir()
    if opts.print_templates:
        print(template_root)
        return 0
    # A run allocates a few hundred thousand small tuples and lists and creates no reference
    # cycles worth collecting; the cycle collector would still walk them every 700 allocations.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _run(opts, template_root)
    except ApplyError as e:
        log.error("%s", e)
        return 1
    finally:
        if collecting:
            gc.enable()


def _run(opts, template_root: str) -> int:
    files = metadata.metadata_files(opts.metadata, opts.os_config_files, warn=log.warning)
    if opts.key and opts.boolean_key:
        log.warning("--key is not compatible with --boolean-key; --boolean-key ignored")
    if opts.key:
        config = metadata.load(files, opts.fallback_metadata)
        print(keys.print_key(config, opts.key, opts.type, opts.key_default, str(files)))
        return 0
    if opts.boolean_key:
        return keys.boolean_key(metadata.load(files, opts.fallback_metadata), opts.boolean_key)
    context = metadata.subhash(metadata.load(files, opts.fallback_metadata), opts.subhash)
    tree = templates.discover(template_root)
    rendered = render_tree(tree, context, opts.output)
    actions = plan(rendered, {item.target: observe(item.target) for item in rendered})
    changed = [a for a in actions if a.changes]
    if opts.validate:
        for action in changed:
            log.info("would %s %s", action.kind.replace("-", " "), action.path)
        log.info("valid: %d template(s), %d file(s) would change", len(actions), len(changed))
        return 0
    apply(actions)
    log.info("success: %d template(s), %d file(s) changed", len(actions), len(changed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
