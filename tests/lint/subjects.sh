#!/bin/bash
# Commit subjects: "area: summary in the imperative", at most 72 characters.
#
#   tests/lint/subjects.sh [BASE]     commits in BASE..HEAD, merges excepted
#
# BASE: the argument, else $UFFD_WPU_LINT_BASE, else 53d6d15 (main when the
# branches written before this check existed had been merged, 2026-12-04:
# "README: layers, compile probes, check-apps with CRIU, what CI runs").
# The history before it was written without the rule (74 of its 214
# subjects are longer than 72 characters) and is not checked; it is not
# rewritten either, as main's history is published.  Merge commits are not
# checked: their subject is git's.
#
# The rule:
#   - area: what the commit touches, a path or a part ("src/ctl.c",
#     "tests", "build", "README, docs", "make demo"): no colon in it
#   - ": " then the summary, without a final "."
#   - imperative: its first word is not another form of a common verb
#     ("adds", "fixed", "making"; see NOT_IMPERATIVE).  A heuristic: a
#     summary may also start with a noun ("the", "no", "failed loads")
#   - at most 72 characters in all
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 2

BASE=${1:-${UFFD_WPU_LINT_BASE:-53d6d15}}
if ! git rev-parse -q --verify "$BASE^{commit}" >/dev/null; then
	echo "lint: subjects: base $BASE is not in this clone (shallow?): fetch the history"
	exit 1
fi

# Not the imperative: other forms of the verbs a summary usually starts
# with ("adds", "fixed", "making").  A list, not a rule on -ed/-ing/-s:
# "failed loads", "tests for", "packaging check" are fine summaries.
NOT_IMPERATIVE="added|adding|adds|allowed|allowing|allows|avoided|avoiding|avoids|
bumped|bumping|bumps|changed|changes|changing|cleaned|cleaning|cleans|
converted|converting|converts|corrected|correcting|corrects|created|
creates|creating|disabled|disables|disabling|documented|documenting|
documents|dropped|dropping|drops|enabled|enables|enabling|ensured|
ensures|ensuring|fixed|fixes|fixing|handled|handles|handling|
implemented|implementing|implements|improved|improves|improving|
introduced|introduces|introducing|made|makes|making|moved|moves|
moving|prevented|preventing|prevents|refactored|refactoring|refactors|
rejected|rejecting|rejects|removed|removes|removing|renamed|renames|
renaming|replaced|replaces|replacing|reworked|reworking|reworks|
rewrited|rewrites|rewriting|rewritten|rewrote|simplified|simplifies|
simplifying|splits|splitting|supported|supporting|supports|updated|
updates|updating|used|uses|using"
NOT_IMPERATIVE=${NOT_IMPERATIVE//$'\n'/}

bad=0 n=0
while IFS= read -r line; do
	c=${line%% *}
	s=${line#* }
	n=$((n + 1))
	why=()
	[ ${#s} -le 72 ] || why+=("${#s} characters (at most 72)")
	if [[ $s =~ ^([^:]+):\ (.+)$ ]]; then
		area=${BASH_REMATCH[1]} sum=${BASH_REMATCH[2]}
		first=${sum%% *}
		first=${first,,}
		[[ $area =~ ^[A-Za-z0-9_./,*{}+\ -]+$ && $area != *" " ]] ||
			why+=("area '$area' is not a path or a name")
		[[ $sum != *. ]] || why+=("ends with '.'")
		if [[ $first =~ ^($NOT_IMPERATIVE)$ ]]; then
			why+=("'$first' is not the imperative")
		fi
	else
		why+=("no 'area: ' prefix")
	fi
	if [ ${#why[@]} -gt 0 ]; then
		printf '%s %s\n' "$c" "$s"
		printf '    -> %s\n' "${why[@]}"
		bad=1
	fi
done < <(git log --no-merges --format='%h %s' "$BASE..HEAD")

[ $bad = 0 ] || { echo "lint: subjects: fix with git rebase -i $BASE (reword)"; exit 1; }
echo "lint: subjects: $n commits after $BASE, all 'area: imperative', <= 72 characters"
