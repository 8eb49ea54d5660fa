;; Hostile redactor, written by hand: `redact` returns 1,024 redactions whose values all point at
;; one 1 MiB buffer: 1 MiB of guest memory, 1 GiB if copied. The host must stop at the
;; call's output cap and fail the call with `output_too_large`.
(component
  (core module $libc
    (memory (export "memory") 128)
    (global $next (mut i32) (i32.const 0x10000))
    (func (export "realloc") (param i32 i32) (param $align i32) (param $size i32) (result i32)
      (local $ptr i32)
      (local.set $ptr (i32.and
        (i32.add (global.get $next) (i32.sub (local.get $align) (i32.const 1)))
        (i32.sub (i32.const 0) (local.get $align))))
      (global.set $next (i32.add (local.get $ptr) (local.get $size)))
      (local.get $ptr)))
  (core instance $libc (instantiate $libc))

  (core module $main
    (import "libc" "memory" (memory 1))
    (data (i32.const 0x400) "hostile_redact")
    (data (i32.const 0x440) "0.1.0")
    (data (i32.const 0x480) "Hostile: redactions that alias one buffer (expect output_too_large)")
    (data (i32.const 0x800)
      "\00\04\00\00\0e\00\00\00" "\40\04\00\00\05\00\00\00" "\80\04\00\00\43\00\00\00" "\00")
    (func (export "describe") (result i32) (i32.const 0x800))

    ;; Redactions are 12 bytes: field @0, value @4.
    (func (export "redact") (param i32 i32) (result i32)
      (local $i i32) (local $at i32)
      (memory.fill (i32.const 0x100000) (i32.const 0x78) (i32.const 0x100000))
      (loop $next
        (local.set $at (i32.add (i32.const 0x200000) (i32.mul (local.get $i) (i32.const 12))))
        (i32.store (local.get $at) (local.get $i))
        (i32.store offset=4 (local.get $at) (i32.const 0x100000))
        (i32.store offset=8 (local.get $at) (i32.const 0x100000))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $next (i32.lt_u (local.get $i) (i32.const 1024))))
      (i32.store8 (i32.const 0x900) (i32.const 0))
      (i32.store (i32.const 0x904) (i32.const 0x200000))
      (i32.store (i32.const 0x908) (i32.const 1024))
      (i32.const 0x900)))
  (core instance $main (instantiate $main (with "libc" (instance $libc))))

  (type $descriptor' (record (field "name" string) (field "version" string)
    (field "description" string) (field "config-schema" (option string))))
  (export $descriptor "descriptor" (type $descriptor'))
  (type $plugin-error' (variant (case "invalid-config" string) (case "invalid-input" string) (case "failed" string)))
  (export $plugin-error "plugin-error" (type $plugin-error'))
  (type $field' (record (field "span" u32) (field "path" string) (field "value" string)))
  (export $field "field" (type $field'))
  (type $redaction' (record (field "field" u32) (field "value" string)))
  (export $redaction "redaction" (type $redaction'))

  (func (export "describe") (result $descriptor)
    (canon lift (core func $main "describe") (memory (core memory $libc "memory"))))
  (func (export "redact") (param "fields" (list $field)) (result (result (list $redaction) (error $plugin-error)))
    (canon lift (core func $main "redact") (memory (core memory $libc "memory"))
      (realloc (core func $libc "realloc"))))
)
