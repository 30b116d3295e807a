#!/usr/bin/perl
# Checks META.json, the distribution's metadata for PGXN, against the PGXN
# Meta Spec 1.0.0 (https://pgxn.org/spec/; the rules as the official JSON
# schemas of github.com/pgxn/meta, schema/v1, and PGXN::Meta::Validator state
# them), and against the tree it describes:
#
#   - required keys, and no unknown ones (custom keys start with x_ or X_);
#   - versions are semantic versions (MAJOR.MINOR.PATCH), terms at least two
#     characters without space, slash, backslash or control characters,
#     paths relative Unix paths without . or .. components;
#   - license names from the spec's list (or a map of names to URLs);
#   - provides: each extension with file and version (and optional
#     abstract, docfile);
#   - prereqs: phases configure/build/test/runtime/develop, relationships
#     requires/recommends/suggests/conflicts, version ranges (0, a version,
#     or comparisons such as ">= 1.2.0, < 2.0.0");
#   - resources, tags, no_index, release_status, meta-spec.
#
# and that it agrees with the tree: the version is streamview.control's
# default_version (0.2 is 0.2.0 in semantic versioning) and debian/changelog's
# upstream version; provides names the extension, its version is the
# distribution's, and its file and docfile exist; the minimum PostgreSQL is
# debian/pgversions' first major; librdkafka's minimum is the one
# debian/control.in builds with; the license is debian/copyright's.
#
#   perl test/check-meta.pl [DIR]     (DIR: the tree, default this checkout)
#
# Prints "META.json: ok ..." and exits 0, or lists every problem and exits 1.
# Needs only Perl and its core module JSON::PP.
use strict;
use warnings;
use JSON::PP;
use File::Basename qw(dirname);
use File::Spec;
use B;

my $dir = shift // File::Spec->catdir(dirname(File::Spec->rel2abs($0)), '..');
my @errors;
sub err { push @errors, join '', @_; return 0 }

sub slurp
{
	my ($path) = @_;
	open my $fh, '<:raw', $path or return undef;
	local $/;
	return scalar <$fh>;
}

my $text = slurp("$dir/META.json");
defined $text or die "META.json: cannot read $dir/META.json: $!\n";
my $meta = eval { JSON::PP->new->utf8->decode($text) };
if (!defined $meta) {
	print "META.json: not valid JSON: $@";
	exit 1;
}

# --- value checks (meta-spec 1.0.0) -----------------------------------------

my $SEMVER = qr/(?:0|[1-9]\d*)\.(?:0|[1-9]\d*)\.(?:0|[1-9]\d*)
	(?:-(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*)?
	(?:\+[0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*)?/x;

my %LICENSES = map { $_ => 1 } qw(agpl_3 apache_1_1 apache_2_0 artistic_1
	artistic_2 bsd freebsd gfdl_1_2 gfdl_1_3 gpl_1 gpl_2 gpl_3 lgpl_2_1 lgpl_3_0
	mit mozilla_1_0 mozilla_1_1 openssl perl_5 postgresql qpl_1_0 ssleay sun
	zlib open_source restricted unrestricted unknown);

sub is_string { my ($v) = @_; return defined $v && !ref $v && !JSON::PP::is_bool($v) }

# JSON::PP gives numbers and strings alike as Perl scalars; a number is one
# whose text came from a JSON number.
sub is_json_number
{
	my ($v) = @_;
	return 0 unless is_string($v);
	my $b = B::svref_2object(\$v);
	return ($b->FLAGS & (B::SVp_IOK() | B::SVp_NOK())) && !($b->FLAGS & B::SVp_POK());
}

sub check_string
{
	my ($path, $v) = @_;
	return err("$path: must be a non-empty string") unless is_string($v) && length $v;
	return 1;
}

sub check_version
{
	my ($path, $v) = @_;
	return err("$path: must be a string") unless is_string($v) && !is_json_number($v);
	return err("$path: \"$v\" is not a semantic version (MAJOR.MINOR.PATCH)") unless $v =~ /\A$SEMVER\z/;
	return 1;
}

sub check_term
{
	my ($path, $v) = @_;
	return err("$path: must be a string") unless is_string($v);
	return err("$path: \"$v\" is not a term (two or more characters, no space, /, \\ or control characters)")
		unless $v =~ /\A[^\/\\\p{Space}\p{Cntrl}]{2,}\z/;
	return 1;
}

sub check_path
{
	my ($path, $v) = @_;
	return err("$path: must be a string") unless is_string($v);
	return err("$path: \"$v\" is not a path of at least two characters") unless length $v >= 2;
	return err("$path: \"$v\" is not a relative Unix path") if $v =~ m{\A/} || $v =~ /\\/;
	(my $rel = $v) =~ s{\A\./}{};
	return err("$path: \"$v\" has a . or .. component") if grep { $_ eq '.' || $_ eq '..' } split m{/}, $rel;
	return 1;
}

sub check_uri
{
	my ($path, $v) = @_;
	return err("$path: must be a string") unless is_string($v);
	my ($scheme, $rest) = $v =~ /\A([A-Za-z][A-Za-z0-9+.-]*):(\S+)\z/;
	return err("$path: \"$v\" is not a URI") unless defined $scheme;
	return err("$path: \"$v\" has no host") if $scheme =~ /\Ahttps?\z/i && $rest !~ m{\A//[^/?#]+};
	return 1;
}

sub check_email
{
	my ($path, $v) = @_;
	return err("$path: \"" . ($v // '') . "\" is not an email address")
		unless is_string($v) && $v =~ /\A[^@\s]+@[^@\s]+\.[^@\s]+\z/;
	return 1;
}

sub is_custom { return $_[0] =~ /\A[xX]_./ }

# An object whose keys are the given known ones or custom ones (any key
# with '*'); returns it, or undef if it is not an object.
sub check_object
{
	my ($path, $v, @known) = @_;
	if (ref $v ne 'HASH') {
		err("$path: must be an object");
		return undef;
	}
	my %known = map { $_ => 1 } @known;
	for my $k (sort keys %$v) {
		err("$path: unknown key \"$k\" (custom keys start with x_)")
			unless $known{'*'} || $known{$k} || is_custom($k);
	}
	return $v;
}

sub check_unique_list
{
	my ($path, $v, $check) = @_;
	return err("$path: must be a non-empty list") unless ref $v eq 'ARRAY' && @$v;
	my %seen;
	for my $i (0 .. $#$v) {
		$check->("$path\[$i]", $v->[$i]);
		err("$path\[$i]: duplicate") if is_string($v->[$i]) && $seen{$v->[$i]}++;
	}
}

sub check_version_range
{
	my ($path, $v) = @_;
	return 1 if is_json_number($v) && $v == 0;
	return err("$path: must be 0 or a string") unless is_string($v) && !is_json_number($v);
	return 1 if $v eq '0';
	for my $part (split /,\s*/, $v, -1) {
		err("$path: \"$part\" in \"$v\" is not a version or a comparison (<, <=, >, >=, ==, != with a version)")
			unless $part =~ /\A(?:(?:[=!]=|[<>]=?)\s*)?$SEMVER\z/;
	}
	return 1;
}

# --- the document -------------------------------------------------------------

my @REQUIRED = qw(name version abstract maintainer license provides meta-spec);
my @OPTIONAL = qw(description generated_by tags no_index prereqs release_status resources);
check_object('/', $meta, @REQUIRED, @OPTIONAL) or do { print "META.json: $errors[0]\n"; exit 1 };
for my $k (@REQUIRED) {
	err("/$k: required") unless exists $meta->{$k};
}

if (my $ms = $meta->{'meta-spec'}) {
	if (check_object('/meta-spec', $ms, qw(version url))) {
		if (!is_string($ms->{version}) || $ms->{version} !~ /\A1\.0\.\d+\z/) {
			err('/meta-spec/version: must be 1.0.x (this checks meta-spec 1.0.0)');
		}
		err('/meta-spec/url: must be https://pgxn.org/meta/spec.txt')
			if exists $ms->{url} && !(is_string($ms->{url}) && $ms->{url} =~ m{\Ahttps?://pgxn\.org/meta/spec\.txt\z});
	}
}
check_term('/name', $meta->{name}) if exists $meta->{name};
check_version('/version', $meta->{version}) if exists $meta->{version};
check_string('/abstract', $meta->{abstract}) if exists $meta->{abstract};
check_string('/description', $meta->{description}) if exists $meta->{description};
check_string('/generated_by', $meta->{generated_by}) if exists $meta->{generated_by};

if (exists $meta->{maintainer}) {
	my $m = $meta->{maintainer};
	ref $m eq 'ARRAY' ? check_unique_list('/maintainer', $m, \&check_string) : check_string('/maintainer', $m);
}

if (exists $meta->{license}) {
	my $l = $meta->{license};
	my $one = sub {
		my ($path, $v) = @_;
		err("$path: \"" . ($v // '') . "\" is not one of the spec's licenses (" . join(', ', sort keys %LICENSES) . ')')
			unless is_string($v) && $LICENSES{$v};
	};
	if (ref $l eq 'HASH') {
		err('/license: an object of licenses must not be empty') unless %$l;
		check_uri("/license/$_", $l->{$_}) for sort keys %$l;
	} elsif (ref $l eq 'ARRAY') {
		check_unique_list('/license', $l, $one);
	} else {
		$one->('/license', $l);
	}
}

if (exists $meta->{release_status}) {
	my $s = $meta->{release_status};
	err('/release_status: must be stable, testing or unstable')
		unless is_string($s) && $s =~ /\A(?:stable|testing|unstable)\z/;
}

if (exists $meta->{provides} && check_object('/provides', $meta->{provides}, '*')) {
	my $p = $meta->{provides};
	err('/provides: must name at least one extension') unless %$p;
	for my $ext (sort keys %$p) {
		my $at = "/provides/$ext";
		check_term($at, $ext);
		my $e = check_object($at, $p->{$ext}, qw(file version abstract docfile docpath)) or next;
		for my $k (qw(file version)) { err("$at/$k: required") unless exists $e->{$k} }
		check_path("$at/file", $e->{file}) if exists $e->{file};
		check_version("$at/version", $e->{version}) if exists $e->{version};
		check_string("$at/abstract", $e->{abstract}) if exists $e->{abstract};
		check_path("$at/docfile", $e->{docfile}) if exists $e->{docfile};
		check_string("$at/docpath", $e->{docpath}) if exists $e->{docpath};
	}
}

my @PHASES = qw(configure build test runtime develop);
my @RELATIONS = qw(requires recommends suggests conflicts);
if (exists $meta->{prereqs} && check_object('/prereqs', $meta->{prereqs}, @PHASES)) {
	my $pr = $meta->{prereqs};
	err('/prereqs: must have at least one phase (' . join(', ', @PHASES) . ')')
		unless grep { exists $pr->{$_} } @PHASES;
	for my $phase (grep { !is_custom($_) } sort keys %$pr) {
		my $ph = check_object("/prereqs/$phase", $pr->{$phase}, @RELATIONS) or next;
		err("/prereqs/$phase: must have at least one relationship (" . join(', ', @RELATIONS) . ')')
			unless grep { exists $ph->{$_} } @RELATIONS;
		for my $rel (grep { !is_custom($_) } sort keys %$ph) {
			my $at = "/prereqs/$phase/$rel";
			my $r = $ph->{$rel};
			if (ref $r ne 'HASH' || !%$r) {
				err("$at: must be an object naming at least one prerequisite");
				next;
			}
			for my $name (sort keys %$r) {
				check_term("$at/$name", $name);
				check_version_range("$at/$name", $r->{$name});
			}
		}
	}
}

if (exists $meta->{resources} && check_object('/resources', my $res = $meta->{resources}, qw(homepage bugtracker repository))) {
	err('/resources: must have homepage, bugtracker or repository')
		unless grep { exists $res->{$_} } qw(homepage bugtracker repository);
	check_uri('/resources/homepage', $res->{homepage}) if exists $res->{homepage};
	if (exists $res->{bugtracker} && (my $bt = check_object('/resources/bugtracker', $res->{bugtracker}, qw(web mailto)))) {
		err('/resources/bugtracker: must have web or mailto') unless exists $bt->{web} || exists $bt->{mailto};
		check_uri('/resources/bugtracker/web', $bt->{web}) if exists $bt->{web};
		check_email('/resources/bugtracker/mailto', $bt->{mailto}) if exists $bt->{mailto};
	}
	if (exists $res->{repository} && (my $rp = check_object('/resources/repository', $res->{repository}, qw(url web type)))) {
		err('/resources/repository: must have url and type, or web')
			unless (exists $rp->{url} && exists $rp->{type}) || exists $rp->{web};
		check_uri("/resources/repository/$_", $rp->{$_}) for grep { exists $rp->{$_} } qw(url web);
		err('/resources/repository/type: must be a lowercase word (git, hg, svn, ...)')
			if exists $rp->{type} && !(is_string($rp->{type}) && $rp->{type} =~ /\A\p{Lower}+\z/);
	}
}

if (exists $meta->{tags}) {
	check_unique_list('/tags', $meta->{tags}, sub {
		my ($path, $v) = @_;
		err("$path: must be a tag of 2 to 255 characters without /, \\ or control characters")
			unless is_string($v) && $v =~ /\A[^\/\\\p{Cntrl}]{2,255}\z/;
	});
}

if (exists $meta->{no_index} && (my $ni = check_object('/no_index', $meta->{no_index}, qw(file directory)))) {
	err('/no_index: must have file or directory') unless exists $ni->{file} || exists $ni->{directory};
	for my $k (grep { exists $ni->{$_} } qw(file directory)) {
		ref $ni->{$k} eq 'ARRAY'
			? check_unique_list("/no_index/$k", $ni->{$k}, \&check_path)
			: check_path("/no_index/$k", $ni->{$k});
	}
}

# --- agreement with the tree --------------------------------------------------

# "0.2" -> "0.2.0": PostgreSQL extension versions are free text, PGXN's are
# semantic versions
sub semver_of { my ($v) = @_; return $v =~ /\A\d+\.\d+\z/ ? "$v.0" : $v }

my $name = is_string($meta->{name}) ? $meta->{name} : '';
my $version = is_string($meta->{version}) ? $meta->{version} : '';
my $control_text = slurp("$dir/$name.control");
if (!defined $control_text) {
	err("tree: no $name.control for the distribution named \"$name\"");
} else {
	my ($default) = $control_text =~ /^\s*default_version\s*=\s*'([^']*)'/m;
	if (!defined $default) {
		err("tree: $name.control has no default_version");
	} elsif (semver_of($default) ne $version) {
		err("/version: \"$version\" is not $name.control's default_version '$default' (as a semantic version: "
			. semver_of($default) . ')');
	}
	my $p = ref $meta->{provides} eq 'HASH' ? $meta->{provides} : {};
	if (!$p->{$name}) {
		err("/provides: does not name the extension $name");
	} elsif (ref $p->{$name} eq 'HASH' && is_string($p->{$name}{version}) && $p->{$name}{version} ne $version) {
		err("/provides/$name/version: \"$p->{$name}{version}\" is not the distribution's version \"$version\"");
	}
}
if (ref $meta->{provides} eq 'HASH') {
	for my $ext (sort keys %{ $meta->{provides} }) {
		my $e = $meta->{provides}{$ext};
		next unless ref $e eq 'HASH';
		for my $k (qw(file docfile)) {
			err("/provides/$ext/$k: $e->{$k} is not in the tree") if is_string($e->{$k}) && !-f "$dir/$e->{$k}";
		}
	}
}

my $changelog = slurp("$dir/debian/changelog");
if (defined $changelog) {
	my ($debver) = $changelog =~ /\A\S+ \(([^)]+)\)/;
	(my $upstream = $debver // '') =~ s/-[^-]*\z//;
	$upstream =~ s/\A\d+://;    # an epoch
	err("/version: \"$version\" is not debian/changelog's upstream version \"$upstream\" (as a semantic version: "
		. semver_of($upstream) . ')') if semver_of($upstream) ne $version;
}

my $requires = ref $meta->{prereqs} eq 'HASH' && ref $meta->{prereqs}{runtime} eq 'HASH'
	&& ref $meta->{prereqs}{runtime}{requires} eq 'HASH' ? $meta->{prereqs}{runtime}{requires} : {};
my ($pg_min) = ($requires->{PostgreSQL} // '') =~ /\A(?:>=\s*)?(\d+)\.\d+\.\d+\z/;
if (!defined $pg_min) {
	err('/prereqs/runtime/requires/PostgreSQL: must name the minimum PostgreSQL (e.g. "15.0.0")');
} elsif (defined(my $pgv = slurp("$dir/debian/pgversions"))) {
	my ($first) = $pgv =~ /^\s*(\d+)\+?\s*$/m;
	err("/prereqs/runtime/requires/PostgreSQL: \"$requires->{PostgreSQL}\" is not debian/pgversions' first major ("
		. ($first // 'none') . ')') unless defined $first && $first == $pg_min;
}
if (!exists $requires->{librdkafka}) {
	err('/prereqs/runtime/requires/librdkafka: must name librdkafka, the library streamview links');
} elsif (defined(my $ci = slurp("$dir/debian/control.in"))) {
	my ($dev_min) = $ci =~ /librdkafka-dev\s*\(>=\s*([^)\s]+)\)/;
	my $meta_min = $requires->{librdkafka} =~ s/\A>=\s*//r;
	err("/prereqs/runtime/requires/librdkafka: \"$requires->{librdkafka}\" is not the minimum in debian/control.in's Build-Depends ("
		. ($dev_min // 'none') . ')') unless defined $dev_min && semver_of($dev_min) eq $meta_min;
}

# The license, as debian/copyright names it for Files: *
my %DEBIAN_LICENSE = (postgresql => 'PostgreSQL', mit => 'Expat', apache_2_0 => 'Apache-2.0',
	gpl_2 => 'GPL-2', gpl_3 => 'GPL-3', lgpl_2_1 => 'LGPL-2.1', lgpl_3_0 => 'LGPL-3', bsd => 'BSD-3-clause');
if (is_string($meta->{license}) && $DEBIAN_LICENSE{ $meta->{license} }
	&& defined(my $cr = slurp("$dir/debian/copyright"))) {
	my ($files_all) = $cr =~ /^Files:\s*\*\s*\n(?:[ \t].*\n|\S+:.*\n)*?License:\s*(\S+)/m;
	my $want = $DEBIAN_LICENSE{ $meta->{license} };
	err("/license: \"$meta->{license}\" is not debian/copyright's license for Files: * (" . ($files_all // 'none')
		. "; expected $want)") unless defined $files_all && $files_all =~ /\A\Q$want\E\+?\z/i;
}

if (@errors) {
	print "META.json: $_\n" for @errors;
	print "META.json: NOT OK (", scalar @errors, " problem", @errors == 1 ? '' : 's', ")\n";
	exit 1;
}
print "META.json: ok (meta-spec 1.0.0; $name $version, PostgreSQL >= $requires->{PostgreSQL},",
	" librdkafka >= $requires->{librdkafka}; agrees with $name.control, debian/changelog, debian/pgversions,",
	" debian/control.in and debian/copyright)\n";
exit 0;
