package mysql

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/stillwaters/db-concierge/internal/tenant"
)

// AdminPrivileges are the privileges the admin account needs on a server of flavor and version:
// those it must hold WITH GRANT OPTION, and the others.
// The admin account's privileges are all granted ON *.*: the operator creates databases and
// accounts of any name, so nothing narrower serves. docs/platform.md gives them as GRANT
// statements. Granting ALL PRIVILEGES on a tenant's database needs every database privilege, with
// GRANT OPTION, on the grantor's side; CREATE USER creates, alters, locks and drops accounts;
// PROCESS lists other accounts' sessions and CONNECTION ADMIN ends them, when a revoked privilege
// must stop applying or a dropped account's sessions must end.
func AdminPrivileges(flavor, version string) (withGrantOption, others []string) {
	withGrantOption = slices.Clone(adminDatabasePrivileges)
	if flavor == FlavorMariaDB || flavor == FlavorMariaDBGalera {
		withGrantOption = append(withGrantOption, mariadbDatabasePrivileges...)
		if versionAtLeast(version, 11, 3, 0) {
			withGrantOption = append(withGrantOption, mariadb113DatabasePrivileges...)
		}
		return withGrantOption, mariadbAdminPrivileges
	}
	return withGrantOption, mysqlAdminPrivileges
}

// privilegesRecheck is how long grants found complete are taken as they were: an account's grants
// rarely change, and a quiet cluster's checks should not read them every time.
const privilegesRecheck = 10 * time.Minute

// CheckPrivileges reads the admin account's own grants and refuses, naming them, the privileges of
// AdminPrivileges it lacks: an account short of one fails in the middle of some pass, with a
// message that does not always say which. Privileges held through a role are not seen. Grants
// found complete are read again after privilegesRecheck; a new pool (a new account) reads them
// at once.
func (a *Admin) CheckPrivileges(ctx context.Context) (err error) {
	defer func() { err = a.settle(ctx, err) }()
	a.privilegesMu.Lock()
	defer a.privilegesMu.Unlock()
	if !a.privilegesCheckedAt.IsZero() && time.Since(a.privilegesCheckedAt) < privilegesRecheck {
		return nil
	}
	if err := a.checkPrivileges(ctx); err != nil {
		return err
	}
	a.privilegesCheckedAt = time.Now()
	return nil
}

func (a *Admin) checkPrivileges(ctx context.Context) error {
	info, err := a.inspect(ctx)
	if err != nil {
		return err
	}
	rows, err := a.query(ctx, showOwnGrants)
	if err != nil {
		a.observe(opRead, err)
		return fmt.Errorf("reading the admin account's grants: %w", err)
	}
	lines, err := column[string](rows)
	if err != nil {
		return fmt.Errorf("reading the admin account's grants: %w", err)
	}
	withGrant, others := AdminPrivileges(info.Flavor, info.Version)
	missing := missingPrivileges(lines, withGrant, others)
	if len(missing) == 0 {
		return nil
	}
	return &tenant.Error{Kind: tenant.KindAccessDenied, Err: fmt.Errorf("the admin account lacks %s ON *.*: grant %s (docs/platform.md lists the privileges it needs)",
		strings.Join(missing, ", "), plural(len(missing)))}
}

func plural(n int) string {
	if n == 1 {
		return "it"
	}
	return "them"
}

// missingPrivileges compares SHOW GRANTS lines with what is needed, and words what is missing:
// "PROCESS", or "SELECT WITH GRANT OPTION" for one held without it.
func missingPrivileges(lines, withGrant, others []string) []string {
	held, grantable := map[string]bool{}, map[string]bool{}
	for _, line := range lines {
		privileges, grantOption, ok := globalGrant(line)
		if !ok {
			continue
		}
		for _, p := range privileges {
			held[p] = true
			grantable[p] = grantable[p] || grantOption
		}
	}
	all, allGrantable := held[allPrivileges], grantable[allPrivileges]
	var missing []string
	for _, p := range withGrant {
		switch {
		case all && allGrantable, grantable[p]:
		case all || held[p]:
			missing = append(missing, p+" WITH GRANT OPTION")
		default:
			missing = append(missing, p)
		}
	}
	for _, p := range others {
		if !all && !held[p] && !held[impliedBy[p]] {
			missing = append(missing, p)
		}
	}
	return missing
}

// globalGrant reads a SHOW GRANTS line that grants privileges ON *.*: the privileges, upper case,
// and whether it has GRANT OPTION.
func globalGrant(line string) (privileges []string, grantOption, ok bool) {
	rest, found := strings.CutPrefix(line, "GRANT ")
	if !found {
		return nil, false, false
	}
	list, after, found := strings.Cut(rest, " ON *.* TO ")
	if !found {
		return nil, false, false
	}
	for _, p := range strings.Split(list, ",") {
		privileges = append(privileges, strings.ToUpper(strings.TrimSpace(p)))
	}
	// MariaDB prints resource limits after the grant option.
	return privileges, strings.Contains(after, " WITH GRANT OPTION"), true
}

// versionAtLeast reports whether a version string begins with major.minor.patch or later; a
// version without a patch number counts as patch 0.
func versionAtLeast(version string, major, minor, patch int) bool {
	var v [3]int
	if n, _ := fmt.Sscanf(version, "%d.%d.%d", &v[0], &v[1], &v[2]); n < 2 {
		return false
	}
	return slices.Compare(v[:], []int{major, minor, patch}) >= 0
}
