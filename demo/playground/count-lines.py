import os

# Lines by kind of file (extension) under /workspace, leaving out hidden folders and what builds and installs make.
counts = {}
for root, dirs, files in os.walk("/workspace"):
    dirs[:] = [d for d in dirs if not d.startswith(".") and d not in ("node_modules", "target", "dist", "build", "venv", "__pycache__")]
    for name in files:
        kind = os.path.splitext(name)[1] or name
        try:
            with open(os.path.join(root, name), "rb") as handle:
                lines = handle.read().count(b"\n")
        except OSError:
            continue
        tally = counts.setdefault(kind, [0, 0])
        tally[0] += 1
        tally[1] += lines
ranked = sorted(counts.items(), key=lambda item: -item[1][1])
print(f"file kinds: {len(ranked)}")
for kind, (files, lines) in ranked[:10]:
    print(f"{kind}: {files} file{'' if files == 1 else 's'}, {lines} line{'' if lines == 1 else 's'}")
