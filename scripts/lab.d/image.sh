# SPDX-License-Identifier: GPL-2.0
#
# The lab: the L1 and guest images (initramfs of each), and the build.
# Sourced by scripts/lab, which defines what it uses (TOP, RUN, ...).
# shellcheck shell=bash

need_files() {
	[ -r "$KIMAGE" ] || die "no kernel image $KIMAGE: apt-get install linux-image-$KVER"
	[ -d "$MODROOT/kernel" ] || die "no modules in $MODROOT: apt-get install linux-image-$KVER"
	[ -n "$QEMU_BIN" ] && [ -x "$QEMU_BIN" ] ||
		die "the lab's QEMU is not built: run scripts/setup-deps as root (it builds scripts/qemu once, about 20 minutes on 2 cores)"
	[ -x /bin/busybox ] || die "/bin/busybox missing: apt-get install busybox-static"
	local p
	for p in $L1_PROGRAMS; do
		host_program "$p" >/dev/null ||
			die "$p missing: run scripts/setup-deps (iproute2, perftest, rdmacm-utils)"
	done
	host_program bash >/dev/null || die "bash missing: apt-get install bash"
}

# Path of host program $1, also where root's PATH would find it.
host_program() { PATH=$PATH:/usr/sbin:/sbin command -v "$1"; }

build_all() {
	make -s -C "$TOP" all >"$BUILD/build.log" 2>&1 || {
		tail -n 30 "$BUILD/build.log" >&2
		die "build failed (full log: $BUILD/build.log)"
	}
}

# Whether module NAME is built into the L1 kernel.
builtin_module() {
	grep -qE "(^|/)${1//_/[-_]}\.ko$" "$MODROOT/modules.builtin" 2>/dev/null
}

# Copy module NAME and everything it depends on from the host's module tree.
copy_module() {
	local root=$1 name=$2 line path dep
	line=$(grep -E "(^|/)${name//_/[-_]}\.ko(\.[a-z]+)?:" "$MODROOT/modules.dep") ||
		die "module $name not found in $MODROOT/modules.dep"
	for path in ${line%%:*} ${line#*:}; do
		dep=$root/lib/modules/$KVER/$path
		[ -e "$dep" ] && continue
		mkdir -p "$(dirname "$dep")"
		cp "$MODROOT/$path" "$dep"
	done
}

# Copy host program $2 into root $1 as /bin/$2 (lab-init's busybox --install
# leaves an existing file alone), with the shared libraries and the dynamic
# loader it needs, each at its own path.
copy_program() {
	local root=$1 name=$2 path lib
	path=$(host_program "$name") || die "$name missing on the host"
	cp "$path" "$root/bin/$name"
	for lib in $(ldd "$path" | grep -oE '/[^ ]+'); do
		[ -e "$root$lib" ] && continue
		mkdir -p "$root$(dirname "$lib")"
		cp -L "$lib" "$root$lib"
	done
}

# libibverbs loads its providers with dlopen(), which ldd cannot see: the
# Soft-RoCE one and its driver file, into root $1.
copy_verbs_provider() {
	local root=$1 lib
	lib=$(ls /usr/lib/x86_64-linux-gnu/libibverbs/librxe-rdmav*.so 2>/dev/null |
		head -n 1)
	[ -n "$lib" ] && [ -r /etc/libibverbs.d/rxe.driver ] ||
		die "no rxe verbs provider: apt-get install ibverbs-providers"
	mkdir -p "$root/etc/libibverbs.d" "$root$(dirname "$lib")"
	cp /etc/libibverbs.d/rxe.driver "$root/etc/libibverbs.d/"
	cp -L "$lib" "$root$lib"
	# glibc's pthread_exit() (rping) dlopen()s libgcc_s as well
	lib=$(ldconfig -p | sed -n 's/.*libgcc_s.so.1 (libc6,x86-64) => //p' |
		head -n 1)
	[ -z "$lib" ] || cp -L "$lib" "$root/lib/x86_64-linux-gnu/"
}

# A busybox root: $1 = directory.
make_busybox_root() {
	local root=$1
	mkdir -p "$root"/{bin,dev,proc,sys,tmp,etc,root}
	cp /bin/busybox "$root/bin/busybox"
	ln -sf busybox "$root/bin/sh"
}

make_cpio() {
	(cd "$1" && find . -print0 | cpio --null -o -H newc --quiet) >"$2"
}

# L2 guest initramfs: busybox, init, memcheck, optional payload.
build_guest_initrd() {
	local out=$1 root=$RUN/guest-root
	rm -rf "$root"
	make_busybox_root "$root"
	cp "$TOP/scripts/guest/init" "$root/init"
	cp "$TOP/scripts/guest/bigiron-memcheck" "$TOP/scripts/guest/bigiron-ssicheck" \
		"$root/bin/"
	if [ -n "$GUEST_MODULES" ]; then
		# Same kernel as L1's: the host's modules fit. The init loads
		# the list in /lib/modules/modules.load with busybox modprobe,
		# which resolves dependencies through modules.dep.
		for m in $GUEST_MODULES; do
			copy_module "$root" "$m"
		done
		# Only their lines of modules.dep: the whole file would take
		# half a MiB of the guest's RAM, which the memory check needs.
		(cd "$root/lib/modules/$KVER" && find kernel -name '*.ko*') |
			sed 's/.*/^&:/' | grep -f - "$MODROOT/modules.dep" \
			>"$root/lib/modules/$KVER/modules.dep"
		echo "$GUEST_MODULES" | tr ' ' '\n' >"$root/lib/modules/modules.load"
	fi
	if [ -n "$PAYLOAD" ]; then
		[ -x "$PAYLOAD/run" ] || die "payload $PAYLOAD has no executable 'run'"
		cp -a "$PAYLOAD" "$root/payload"
	fi
	make_cpio "$root" "$out"
}

# L1 initramfs: busybox, host kernel modules, bigiron, the guest, /lab/cmd.
build_l1_initrd() {
	local out=$1 root=$RUN/l1-root m
	rm -rf "$root"
	make_busybox_root "$root"
	local load=
	for m in $L1_MODULES; do
		builtin_module "$m" && continue
		copy_module "$root" "$m"
		load="$load $m"
	done
	for m in $L1_PROGRAMS bash; do
		copy_program "$root" "$m"
	done
	copy_verbs_provider "$root"
	ln -sf bash "$root/bin/sh"
	cp "$MODROOT"/modules.{dep,alias,symbols,builtin,order} \
		"$root/lib/modules/$KVER/" 2>/dev/null
	mkdir -p "$root"/bigiron/{bin,selftests,guest}
	cp "$TOP/kernel/bigiron/bigiron.ko" "$root/bigiron/"
	cp "$TOP/launcher/bigiron-launch" "$root/bigiron/bin/"
	cp "$TOP"/selftests/bigiron_* "$TOP/selftests/run_all.sh" \
		"$TOP/selftests/run_dsm.sh" "$root/bigiron/selftests/" 2>/dev/null
	cp "$KIMAGE" "$root/bigiron/guest/bzImage"
	build_guest_initrd "$root/bigiron/guest/initrd"
	mkdir -p "$root/lab"
	printf '%s\n' "$CMD" >"$root/lab/cmd"
	printf '%s\n' "$load" >"$root/lab/modules"
	# The command's own limit, inside L1, leaves time to report on expiry.
	echo $((TIMEOUT > 60 ? TIMEOUT - 30 : TIMEOUT / 2)) >"$root/lab/timeout"
	cp "$TOP/scripts/lab-init" "$root/init"
	make_cpio "$root" "$out"
}
