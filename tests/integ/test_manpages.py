# Copyright (c) 2026 The chat authors.
#
# test_manpages: the manuals say what the programs do.  For chat-server
# and chat-client, every option of --help is in the man page's SYNOPSIS
# and in its list of options, and the reverse: the usage lines and the
# SYNOPSIS name the same options, and the option lines of --help and the
# .It entries of "The options are as follows:" the same short and long
# forms.  Then mandoc -Tlint -Wwarning finds nothing in any page.

import os
import re
import subprocess

import chatlib
from chatlib import check

TOP = os.environ.get("TOP", os.getcwd())
MAN = os.path.join(TOP, "man")


def help_text(prog):
    out = subprocess.run([prog, "--help"], capture_output=True, timeout=10)
    check(out.returncode == 0, "%s --help exits 0" % prog)
    return out.stdout.decode()


def options_in(text):
    """Short letters and long names in a usage line or a help line."""
    shorts, longs = set(), set()
    for m in re.finditer(r"(?<![\w-])--([a-z][a-z0-9-]*)", text):
        longs.add(m.group(1))
    for m in re.finditer(r"\[-([A-Za-z]+)[\] ]", text):
        # [-hqVv] is a cluster of flags; [-C cert] one option.
        shorts.update(m.group(1) if text[m.end() - 1] == "]"
                      else m.group(1)[0])
    for m in re.finditer(r"(?<![\w-])-([A-Za-z]),", text):
        shorts.add(m.group(1))
    return shorts, longs


def parse_help(text):
    """(synopsis shorts, synopsis longs, [(short, long) of each line])."""
    lines = text.split("\n")
    usage = [lines[0]]
    for line in lines[1:]:
        # Continuation lines: "   [-x y]..." or "   chat-server token ...".
        if not re.match(r"^\s+(\[|chat-\w+ )", line):
            break
        usage.append(line)
    # The first synopsis only: "chat-server token ..." is a subcommand.
    first = []
    for line in usage:
        if re.match(r"^\s+\S+ token ", line):
            break
        first.append(line)
    s_short, s_long = options_in(" ".join(first))
    entries = []
    for line in lines[len(usage):]:
        m = re.match(r"^  (?:-([A-Za-z]), |    )--([a-z][a-z0-9-]*)", line)
        if m:
            entries.append((m.group(1), m.group(2)))
    return s_short, s_long, entries


def macro_options(line):
    """Fl arguments on one mdoc line: (shorts, longs)."""
    shorts, longs = set(), set()
    words = line.split()
    for i, w in enumerate(words[:-1]):
        if w != "Fl" and w != ".Fl":
            continue
        arg = words[i + 1]
        if arg.startswith("-"):
            longs.add(re.match(r"-([a-z0-9-]+)", arg).group(1))
        elif re.match(r"^[A-Za-z]+$", arg):
            shorts.update(arg)
    return shorts, longs


def parse_man(path):
    """(synopsis shorts, synopsis longs, [(shorts, longs) of each .It])."""
    with open(path) as f:
        src = f.read().split("\n")
    s_short, s_long = set(), set()
    i = src.index(".Sh SYNOPSIS") + 1
    nm = 0
    while not src[i].startswith(".Sh "):
        if src[i].startswith(".Nm"):
            nm += 1
        if nm <= 1:     # the first synopsis only
            a, b = macro_options(src[i])
            s_short |= a
            s_long |= b
        i += 1
    start = next(j for j, l in enumerate(src)
                 if l.startswith("The options are as follows"))
    check(src[start + 1].startswith(".Bl "), "%s: a list after 'The "
          "options are as follows'" % path)
    depth, items = 0, []
    for line in src[start + 1:]:
        if line.startswith(".Bl "):
            depth += 1
        elif line.startswith(".El"):
            depth -= 1
            if depth == 0:
                break
        elif depth == 1 and line.startswith(".It Fl"):
            items.append(macro_options(line))
    return s_short, s_long, items


def compare(prog, page):
    hs, hl, hentries = parse_help(help_text(prog))
    ms, ml, mitems = parse_man(page)
    name = os.path.basename(page)
    check(len(hentries) >= 10 and len(mitems) >= 10 and len(hl) >= 5,
          "%s: the parsers found the options (%d, %d, %d)"
          % (name, len(hentries), len(mitems), len(hl)))
    check(hs == ms, "%s: short options, usage %s, SYNOPSIS %s"
          % (name, sorted(hs - ms), sorted(ms - hs)))
    check(hl == ml, "%s: long options, usage %s, SYNOPSIS %s"
          % (name, sorted(hl - ml), sorted(ml - hl)))
    help_pairs = {(s or "", l) for s, l in hentries}
    man_pairs = set()
    for shorts, longs in mitems:
        for l in longs:
            man_pairs.add(("".join(sorted(shorts)), l))
    check(help_pairs == man_pairs, "%s: --help lines %s, man .It %s"
          % (name, sorted(help_pairs - man_pairs),
             sorted(man_pairs - help_pairs)))
    # Every option of the list is in the synopsis, by one of its names.
    for s, l in help_pairs:
        check(l in hl or (s and s in hs), "%s: --%s in the usage lines"
              % (name, l))


def test_lint():
    pages = sorted(os.path.join(MAN, p) for p in os.listdir(MAN))
    out = subprocess.run(["mandoc", "-Tlint", "-Wwarning"] + pages,
                         capture_output=True, timeout=30)
    check(out.returncode == 0 and not out.stdout.strip(),
          "mandoc -Tlint -Wwarning is clean: %s" % out.stdout.decode()[:500])


compare(chatlib.SERVER, os.path.join(MAN, "chat-server.1"))
compare(chatlib.CLIENT, os.path.join(MAN, "chat-client.1"))
test_lint()
chatlib.done()
