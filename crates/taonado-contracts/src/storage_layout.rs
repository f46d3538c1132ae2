//! Storage-layout compatibility of an upgrade, from solc's `storageLayout` (pure).
//!
//! A proxy keeps its state when its implementation changes, so the new implementation must
//! read every old variable where the old one wrote it:
//!
//! - **Sequential storage** (the contract's own state variables from slot 0): may only be
//!   appended to. A variable that is removed, renamed, moved (reordered) or given a different
//!   type is a problem, and so is a new variable declared before an old one. A `__gap` array
//!   may give up slots to new variables declared just before it, but its end must stay where it
//!   was: it must shrink by exactly the slots newly used.
//! - **Namespaced storage** (ERC-7201, OpenZeppelin 5's upgradeable bases): each namespace is a
//!   struct at `erc7201(id)`, independent of the sequential slots, which is why V1's own variables
//!   start at slot 0 even though it inherits `OwnableUpgradeable`. A namespace may not disappear
//!   (its state would be orphaned) and its struct may only have members appended. Adding a base
//!   with a new namespace is fine, since it cannot collide with sequential slots.
//!
//! Types are compared by their structure (Solidity label, encoding, size, key/value/base/member
//! types), never by solc's type ids, which embed AST ids that change from build to build.

use std::{collections::BTreeMap, fmt};

use alloy_primitives::{B256, U256, keccak256};

use crate::artifacts::{Artifact, StorageEntry, StorageLayout, StorageNamespace, StorageType};

/// A state variable, or a struct member, with its type resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Variable {
    /// Its name.
    pub label: String,
    /// First slot (relative to the struct for members).
    pub slot: U256,
    /// Byte offset inside the slot.
    pub offset: u8,
    /// Its type.
    pub ty: TypeShape,
}

/// A storage type by structure, free of AST ids.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TypeShape {
    /// The Solidity type name (`uint16`, `contract IWeights`, `mapping(address => bytes32)`).
    pub label: String,
    /// `inplace`, `mapping`, `dynamic_array` or `bytes`.
    pub encoding: String,
    /// Size in bytes (of the head, for dynamic types).
    pub bytes: U256,
    /// Mapping key, mapping value or array element.
    pub inner: Vec<TypeShape>,
    /// Struct members.
    pub members: Vec<Variable>,
}

impl TypeShape {
    /// How many slots a variable of this type takes (at least one).
    pub fn slots(&self) -> U256 {
        let slots = self.bytes.div_ceil(U256::from(32));
        slots.max(U256::from(1))
    }

    /// An `address`, `address payable` or contract/interface type: all the same 20 bytes.
    fn is_address_like(&self) -> bool {
        self.encoding == "inplace"
            && self.bytes == U256::from(20)
            && (self.label.starts_with("address") || self.label.starts_with("contract "))
    }

    /// Whether a value written as `self` reads back the same as `other`.
    pub fn compatible(&self, other: &TypeShape) -> bool {
        if self.is_address_like() && other.is_address_like() {
            return true;
        }
        self.encoding == other.encoding
            && self.bytes == other.bytes
            && self.label == other.label
            && self.inner.len() == other.inner.len()
            && self
                .inner
                .iter()
                .zip(&other.inner)
                .all(|(a, b)| a.compatible(b))
            && self.members.len() == other.members.len()
            && self.members.iter().zip(&other.members).all(|(a, b)| {
                a.label == b.label
                    && a.slot == b.slot
                    && a.offset == b.offset
                    && a.ty.compatible(&b.ty)
            })
    }
}

/// One ERC-7201 namespace: its id, where it lives and its members' types.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Namespace {
    /// The namespace id, e.g. `openzeppelin.storage.Ownable`.
    pub id: String,
    /// The contract that declares it.
    pub contract: String,
    /// The struct's first slot.
    pub slot: B256,
    /// (name, Solidity type) of each member, in order.
    pub members: Vec<(String, String)>,
}

/// Everything an upgrade must keep: sequential variables and namespaces.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Layout {
    /// The contract's own state variables, in declaration order.
    pub variables: Vec<Variable>,
    /// The ERC-7201 namespaces of the contract and its bases.
    pub namespaces: Vec<Namespace>,
}

/// The ERC-7201 slot of a namespace: `keccak256(abi.encode(uint256(keccak256(id)) - 1)) & ~0xff`.
pub fn erc7201_slot(id: &str) -> B256 {
    let inner = U256::from_be_bytes(keccak256(id.as_bytes()).0) - U256::from(1);
    let mut slot = keccak256(inner.to_be_bytes::<32>()).0;
    slot[31] = 0;
    B256::from(slot)
}

impl Layout {
    /// The layout an artifact declares.
    pub fn of(artifact: &Artifact) -> Self {
        Self::from_parts(&artifact.storage_layout, &artifact.storage_namespaces)
    }

    /// A layout from solc's `storageLayout` and the namespaces `build.mjs` extracts.
    pub fn from_parts(layout: &StorageLayout, namespaces: &[StorageNamespace]) -> Self {
        let empty = BTreeMap::new();
        let types = layout.types.as_ref().unwrap_or(&empty);
        Layout {
            variables: layout
                .storage
                .iter()
                .map(|e| variable(e, types, 0))
                .collect(),
            namespaces: namespaces
                .iter()
                .map(|n| Namespace {
                    id: n.id.clone(),
                    contract: n.contract.clone(),
                    slot: erc7201_slot(&n.id),
                    members: n
                        .members
                        .iter()
                        .map(|m| (m.label.clone(), m.type_name.clone()))
                        .collect(),
                })
                .collect(),
        }
    }

    /// The first slot after the sequential variables.
    pub fn end_slot(&self) -> U256 {
        self.variables
            .iter()
            .map(|v| v.slot + v.ty.slots())
            .max()
            .unwrap_or_default()
    }
}

// Type ids that refer to themselves (recursive structs) would loop; solc's layouts nest only a
// few levels, so a depth bound keeps resolution finite without changing any real result.
const MAX_TYPE_DEPTH: usize = 16;

fn variable(entry: &StorageEntry, types: &BTreeMap<String, StorageType>, depth: usize) -> Variable {
    Variable {
        label: entry.label.clone(),
        slot: entry.slot,
        offset: entry.offset,
        ty: shape(&entry.type_id, types, depth),
    }
}

fn shape(type_id: &str, types: &BTreeMap<String, StorageType>, depth: usize) -> TypeShape {
    let Some(t) = types.get(type_id).filter(|_| depth < MAX_TYPE_DEPTH) else {
        return TypeShape {
            label: type_id.to_owned(),
            encoding: "unknown".into(),
            bytes: U256::ZERO,
            inner: Vec::new(),
            members: Vec::new(),
        };
    };
    let inner = [&t.key, &t.value, &t.base]
        .into_iter()
        .flatten()
        .map(|id| shape(id, types, depth + 1))
        .collect();
    let members = t
        .members
        .iter()
        .flatten()
        .map(|m| variable(m, types, depth + 1))
        .collect();
    TypeShape {
        label: t.label.clone(),
        encoding: t.encoding.clone(),
        bytes: U256::from_str_radix(&t.number_of_bytes, 10).unwrap_or_default(),
        inner,
        members,
    }
}

/// Where a variable sits, for messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Position {
    pub slot: U256,
    pub offset: u8,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.offset == 0 {
            write!(f, "slot {}", self.slot)
        } else {
            write!(f, "slot {} offset {}", self.slot, self.offset)
        }
    }
}

/// What is wrong with one variable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProblemKind {
    /// The variable is gone.
    Removed { at: Position, ty: String },
    /// Same variable, another place: the order changed.
    Moved { from: Position, to: Position },
    /// Another name at the same place.
    Renamed { at: Position, now: String },
    /// Another type at the same place.
    TypeChanged {
        at: Position,
        from: String,
        to: String,
    },
    /// A new variable declared before existing ones.
    Inserted { at: Position, before: String },
    /// A `__gap` whose end moved: it did not shrink by exactly the slots newly used.
    GapMisused {
        old_slots: U256,
        new_slots: U256,
        newly_used: U256,
        end_before: U256,
        end_after: U256,
    },
    /// A whole ERC-7201 namespace is gone.
    NamespaceRemoved { slot: B256 },
    /// A namespace member is gone, renamed, retyped or reordered.
    NamespaceMember {
        namespace: String,
        index: usize,
        change: String,
    },
}

/// One incompatibility.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LayoutProblem {
    /// The variable (or `namespace <id>`) concerned.
    pub variable: String,
    pub kind: ProblemKind,
}

impl fmt::Display for LayoutProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = &self.variable;
        match &self.kind {
            ProblemKind::Removed { at, ty } => write!(
                f,
                "`{v}` ({ty} at {at}) was removed; keep it (unused if need be) so that nothing else reuses its slot"
            ),
            ProblemKind::Moved { from, to } => write!(
                f,
                "`{v}` moved from {from} to {to} (variables were reordered); keep the old order and append new variables"
            ),
            ProblemKind::Renamed { at, now } => write!(
                f,
                "`{v}` at {at} is now `{now}`; a rename or a replacement reads the old value under a new meaning"
            ),
            ProblemKind::TypeChanged { at, from, to } => write!(
                f,
                "`{v}` at {at} changed type from {from} to {to}; the stored value would be read as the wrong type"
            ),
            ProblemKind::Inserted { at, before } => write!(
                f,
                "`{v}` is new at {at}, declared before existing `{before}`; new variables may only be appended"
            ),
            ProblemKind::GapMisused {
                old_slots,
                new_slots,
                newly_used,
                end_before,
                end_after,
            } => write!(
                f,
                "`{v}` went from {old_slots} to {new_slots} slots but {newly_used} slot(s) were newly used before it; it must shrink by exactly that so that it still ends at slot {end_before} (now {end_after})"
            ),
            ProblemKind::NamespaceRemoved { slot } => write!(
                f,
                "ERC-7201 namespace `{v}` (at {slot}) is gone; its state would be orphaned, keep the base contract that declares it"
            ),
            ProblemKind::NamespaceMember {
                namespace,
                index,
                change,
            } => write!(
                f,
                "member {index} of ERC-7201 namespace `{namespace}` ({v}): {change}; namespaced structs may only have members appended"
            ),
        }
    }
}

/// The verdict on an upgrade from one layout to another.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LayoutReport {
    /// Incompatibilities, one per variable; empty means the upgrade is storage-safe.
    pub problems: Vec<LayoutProblem>,
    /// New sequential variables (appended or in a gap's former space).
    pub appended: Vec<String>,
    /// Namespaces the new layout adds.
    pub new_namespaces: Vec<String>,
}

impl LayoutReport {
    /// No problems.
    pub fn is_compatible(&self) -> bool {
        self.problems.is_empty()
    }
}

fn is_gap(v: &Variable) -> bool {
    v.label.starts_with("__gap") && v.ty.encoding == "inplace" && v.ty.label.ends_with(']')
}

fn pos(v: &Variable) -> Position {
    Position {
        slot: v.slot,
        offset: v.offset,
    }
}

/// Checks that `new` can replace `old` behind a proxy.
pub fn check(old: &Layout, new: &Layout) -> LayoutReport {
    let mut report = LayoutReport::default();
    check_sequential(old, new, &mut report);
    check_namespaces(old, new, &mut report);
    report
}

fn check_sequential(old: &Layout, new: &Layout, report: &mut LayoutReport) {
    // Indices (in `new`) of variables that continue an old one.
    let mut matched = vec![false; new.variables.len()];
    for o in &old.variables {
        if is_gap(o) {
            let gap_end = o.slot + o.ty.slots();
            // A gap used up entirely is fine as long as what follows stays in place, which the
            // other variables' checks establish.
            if let Some(i) = new
                .variables
                .iter()
                .position(|n| n.label == o.label && is_gap(n))
            {
                {
                    matched[i] = true;
                    let n = &new.variables[i];
                    let end_after = n.slot + n.ty.slots();
                    if end_after != gap_end {
                        report.problems.push(LayoutProblem {
                            variable: o.label.clone(),
                            kind: ProblemKind::GapMisused {
                                old_slots: o.ty.slots(),
                                new_slots: n.ty.slots(),
                                newly_used: n.slot.saturating_sub(o.slot),
                                end_before: gap_end,
                                end_after,
                            },
                        });
                    }
                }
            }
            continue;
        }
        let same_place = new
            .variables
            .iter()
            .position(|n| !is_gap(n) && n.slot == o.slot && n.offset == o.offset);
        let same_name = new.variables.iter().position(|n| n.label == o.label);
        match (same_place, same_name) {
            (Some(i), _) if new.variables[i].label == o.label => {
                matched[i] = true;
                let n = &new.variables[i];
                if !o.ty.compatible(&n.ty) {
                    report.problems.push(LayoutProblem {
                        variable: o.label.clone(),
                        kind: ProblemKind::TypeChanged {
                            at: pos(o),
                            from: o.ty.label.clone(),
                            to: n.ty.label.clone(),
                        },
                    });
                }
            }
            (_, Some(j)) => {
                matched[j] = true;
                report.problems.push(LayoutProblem {
                    variable: o.label.clone(),
                    kind: ProblemKind::Moved {
                        from: pos(o),
                        to: pos(&new.variables[j]),
                    },
                });
            }
            (Some(i), None) => {
                let n = &new.variables[i];
                // Claimed by the old variable of that name, if it is reported as moved.
                let now_someone_elses = old.variables.iter().any(|x| x.label == n.label);
                if !now_someone_elses {
                    matched[i] = true;
                }
                let kind = if o.ty.compatible(&n.ty) {
                    ProblemKind::Renamed {
                        at: pos(o),
                        now: n.label.clone(),
                    }
                } else {
                    ProblemKind::TypeChanged {
                        at: pos(o),
                        from: o.ty.label.clone(),
                        to: format!("{} (`{}`)", n.ty.label, n.label),
                    }
                };
                report.problems.push(LayoutProblem {
                    variable: o.label.clone(),
                    kind,
                });
            }
            (None, None) => report.problems.push(LayoutProblem {
                variable: o.label.clone(),
                kind: ProblemKind::Removed {
                    at: pos(o),
                    ty: o.ty.label.clone(),
                },
            }),
        }
    }

    // New variables: after everything old, or in the space a gap gave up.
    let gap_spaces: Vec<(U256, U256)> = old
        .variables
        .iter()
        .filter(|o| is_gap(o))
        .map(|o| (o.slot, o.slot + o.ty.slots()))
        .collect();
    let old_end = old.end_slot();
    for (i, n) in new.variables.iter().enumerate() {
        if matched[i] {
            continue;
        }
        let in_gap = gap_spaces
            .iter()
            .any(|&(start, end)| n.slot >= start && n.slot + n.ty.slots() <= end);
        let after_all = n.slot >= old_end || last_slot_tail(old, n);
        if in_gap || after_all {
            report.appended.push(n.label.clone());
            continue;
        }
        let before = old
            .variables
            .iter()
            .filter(|o| (o.slot, o.offset) >= (n.slot, n.offset))
            .min_by_key(|o| (o.slot, o.offset))
            .or_else(|| old.variables.last())
            .map(|o| o.label.clone())
            .unwrap_or_default();
        // Already reported as the old variable's replacement.
        let already = report.problems.iter().any(|p| {
            matches!(&p.kind, ProblemKind::Renamed { now, .. } if *now == n.label)
                || matches!(&p.kind, ProblemKind::TypeChanged { to, .. } if to.ends_with(&format!("(`{}`)", n.label)))
        });
        if !already {
            report.problems.push(LayoutProblem {
                variable: n.label.clone(),
                kind: ProblemKind::Inserted { at: pos(n), before },
            });
        }
    }
}

/// A small value packed into the free bytes of the old layout's last slot, after its last
/// variable: still an append.
fn last_slot_tail(old: &Layout, n: &Variable) -> bool {
    let Some(last) = old.variables.iter().max_by_key(|o| (o.slot, o.offset)) else {
        return true;
    };
    let last_end = usize::from(last.offset) + usize::try_from(last.ty.bytes).unwrap_or(usize::MAX);
    n.slot == last.slot && usize::from(n.offset) >= last_end && last.ty.encoding == "inplace"
}

fn check_namespaces(old: &Layout, new: &Layout, report: &mut LayoutReport) {
    for o in &old.namespaces {
        let Some(n) = new.namespaces.iter().find(|n| n.id == o.id) else {
            report.problems.push(LayoutProblem {
                variable: o.id.clone(),
                kind: ProblemKind::NamespaceRemoved { slot: o.slot },
            });
            continue;
        };
        for (index, (label, ty)) in o.members.iter().enumerate() {
            let change = match n.members.get(index) {
                None => format!("`{label}` ({ty}) was removed"),
                Some((l, t)) if l != label && t != ty => {
                    format!("`{label}` ({ty}) is now `{l}` ({t})")
                }
                Some((l, _)) if l != label => format!("`{label}` is now named `{l}`"),
                Some((_, t)) if t != ty => format!("`{label}` changed type from {ty} to {t}"),
                Some(_) => continue,
            };
            report.problems.push(LayoutProblem {
                variable: format!("{}.{label}", o.contract),
                kind: ProblemKind::NamespaceMember {
                    namespace: o.id.clone(),
                    index,
                    change,
                },
            });
        }
    }
    report.new_namespaces = new
        .namespaces
        .iter()
        .filter(|n| old.namespaces.iter().all(|o| o.id != n.id))
        .map(|n| n.id.clone())
        .collect();
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::Contract;

    #[test]
    fn erc7201_slots_are_openzeppelins() {
        // The constants in OpenZeppelin 5's OwnableUpgradeable and Initializable.
        assert_eq!(
            erc7201_slot("openzeppelin.storage.Ownable").to_string(),
            "0x9016d09d72d40fdae2fd8ceac6b6234c7706214fd39c1cd1e609a0528c199300"
        );
        assert_eq!(
            erc7201_slot("openzeppelin.storage.Initializable").to_string(),
            "0xf0c57e16840df040f15088dc2f81fe391c3923bec73e23a9662efc9c229c6a00"
        );
    }

    #[test]
    fn evm_validator_v2_only_appends_and_keeps_the_namespaces() {
        let v1 = Layout::of(Contract::EvmValidator.artifact());
        let v2 = Layout::of(Contract::EvmValidatorV2.artifact());
        let report = check(&v1, &v2);
        assert!(report.is_compatible(), "{:?}", report.problems);
        assert_eq!(report.appended, ["boostHotkeys"]);
        let ids: Vec<&str> = v1.namespaces.iter().map(|n| n.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "openzeppelin.storage.Initializable",
                "openzeppelin.storage.Ownable"
            ]
        );
        // V1 inherits OwnableUpgradeable yet its own state starts at slot 0: OZ 5 keeps the
        // owner in a namespace, not in sequential slots.
        assert_eq!(v1.variables[0].label, "weights");
        assert_eq!(v1.variables[0].slot, U256::ZERO);
    }

    #[test]
    fn the_reordered_mock_is_rejected_with_one_line_per_variable() {
        let v1 = Layout::of(Contract::EvmValidator.artifact());
        let bad = Layout::of(Contract::MockEvmValidatorReordered.artifact());
        let report = check(&v1, &bad);
        let lines: Vec<String> = report.problems.iter().map(ToString::to_string).collect();
        let about = |name: &str| {
            lines
                .iter()
                .filter(|l| l.starts_with(&format!("`{name}`")))
                .count()
        };
        assert_eq!(about("weights"), 1, "{lines:#?}");
        assert_eq!(about("metagraph"), 1, "{lines:#?}");
        assert_eq!(about("netuid"), 1, "{lines:#?}");
        assert_eq!(about("refundOverhead"), 1, "{lines:#?}");
        assert!(
            lines
                .iter()
                .any(|l| l.contains("changed type from uint16 to uint32")),
            "{lines:#?}"
        );
        assert!(
            lines.iter().any(|l| l.contains("was removed")),
            "{lines:#?}"
        );
        assert!(lines.iter().all(|l| !l.contains('\n')));
    }

    #[test]
    fn weights_v4_is_not_an_upgrade_of_v3_but_its_layout_appends() {
        // WeightsV3 is not upgradeable (V4 is a migration), yet V4 keeps V3's slots: its
        // `burn_uid` became a variable appended at the end.
        let v3 = Layout::of(Contract::WeightsV3.artifact());
        let v4 = Layout::of(Contract::WeightsV4.artifact());
        let report = check(&v3, &v4);
        assert!(report.is_compatible(), "{:?}", report.problems);
        assert_eq!(report.appended, ["burn_uid"]);
    }

    #[test]
    fn a_removed_namespace_and_a_changed_member_are_problems() {
        let v1 = Layout::of(Contract::EvmValidator.artifact());
        let mut changed = v1.clone();
        changed
            .namespaces
            .retain(|n| n.id != "openzeppelin.storage.Ownable");
        changed.namespaces[0].members[0].1 = "uint8".into();
        let lines: Vec<String> = check(&v1, &changed)
            .problems
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(lines.len(), 2, "{lines:#?}");
        assert!(
            lines[0].contains("`_initialized` changed type from uint64 to uint8"),
            "{lines:#?}"
        );
        assert!(lines[1].contains("openzeppelin.storage.Ownable") && lines[1].contains("orphaned"));
        let mut extended = v1.clone();
        extended.namespaces[1]
            .members
            .push(("_pendingOwner".into(), "address".into()));
        assert!(check(&v1, &extended).is_compatible());
    }

    // Generated layouts: variables laid out with solc's packing rules.

    fn value(label: &str, bytes: u64) -> TypeShape {
        TypeShape {
            label: label.into(),
            encoding: "inplace".into(),
            bytes: U256::from(bytes),
            inner: vec![],
            members: vec![],
        }
    }

    fn kind(k: u8) -> TypeShape {
        match k % 8 {
            0 => value("uint8", 1),
            1 => value("uint16", 2),
            2 => value("uint64", 8),
            3 => value("address", 20),
            4 => value("uint256", 32),
            5 => value("bool", 1),
            6 => TypeShape {
                label: "mapping(address => uint256)".into(),
                encoding: "mapping".into(),
                bytes: U256::from(32),
                inner: vec![value("address", 20), value("uint256", 32)],
                members: vec![],
            },
            _ => TypeShape {
                label: "uint256[3]".into(),
                encoding: "inplace".into(),
                bytes: U256::from(96),
                inner: vec![value("uint256", 32)],
                members: vec![],
            },
        }
    }

    /// Lays out (name, type kind) pairs as solc does: value types pack into the current slot
    /// when they fit; mappings and arrays start a new slot and so does whatever follows them.
    fn lay_out(vars: &[(String, u8)], gap: Option<u64>) -> Layout {
        let mut out = Vec::new();
        let (mut slot, mut offset) = (0u64, 0u64);
        let mut place = |label: String, ty: TypeShape, out: &mut Vec<Variable>| {
            let bytes: u64 = ty.bytes.to();
            let whole = ty.encoding != "inplace" || bytes > 32 || ty.label.ends_with(']');
            if offset > 0 && (whole || offset + bytes > 32) {
                slot += 1;
                offset = 0;
            }
            out.push(Variable {
                label,
                slot: U256::from(slot),
                offset: offset as u8,
                ty: ty.clone(),
            });
            if whole {
                slot += ty.slots().to::<u64>();
                offset = 0;
            } else {
                offset += bytes;
            }
        };
        for (label, k) in vars {
            place(label.clone(), kind(*k), &mut out);
        }
        if let Some(n) = gap {
            let ty = TypeShape {
                label: format!("uint256[{n}]"),
                encoding: "inplace".into(),
                bytes: U256::from(32 * n),
                inner: vec![value("uint256", 32)],
                members: vec![],
            };
            place("__gap".into(), ty, &mut out);
        }
        Layout {
            variables: out,
            namespaces: vec![],
        }
    }

    fn vars(kinds: &[u8], prefix: &str) -> Vec<(String, u8)> {
        kinds
            .iter()
            .enumerate()
            .map(|(i, &k)| (format!("{prefix}{i}"), k))
            .collect()
    }

    proptest! {
        #[test]
        fn appending_always_passes(old in prop::collection::vec(any::<u8>(), 0..12), extra in prop::collection::vec(any::<u8>(), 0..6)) {
            let base = vars(&old, "v");
            let mut grown = base.clone();
            grown.extend(vars(&extra, "new"));
            let report = check(&lay_out(&base, None), &lay_out(&grown, None));
            prop_assert!(report.is_compatible(), "{:?}", report.problems);
            prop_assert_eq!(report.appended.len(), extra.len());
        }

        #[test]
        fn removing_a_variable_fails(old in prop::collection::vec(any::<u8>(), 1..12), at in any::<prop::sample::Index>()) {
            let base = vars(&old, "v");
            let mut shrunk = base.clone();
            let removed = shrunk.remove(at.index(base.len()));
            let report = check(&lay_out(&base, None), &lay_out(&shrunk, None));
            prop_assert!(!report.is_compatible());
            prop_assert!(report.problems.iter().any(|p| p.variable == removed.0));
        }

        #[test]
        fn changing_a_type_fails(old in prop::collection::vec(any::<u8>(), 1..12), at in any::<prop::sample::Index>(), to in 1u8..8) {
            let base = vars(&old, "v");
            let mut changed = base.clone();
            let i = at.index(base.len());
            changed[i].1 = (changed[i].1 % 8 + to) % 8;
            let report = check(&lay_out(&base, None), &lay_out(&changed, None));
            prop_assert!(!report.is_compatible());
            prop_assert!(report.problems.iter().any(|p| p.variable == changed[i].0));
        }

        #[test]
        fn reordering_fails(old in prop::collection::vec(any::<u8>(), 2..12), a in any::<prop::sample::Index>(), b in any::<prop::sample::Index>()) {
            let base = vars(&old, "v");
            let (i, j) = (a.index(base.len()), b.index(base.len()));
            prop_assume!(i != j);
            let mut swapped = base.clone();
            swapped.swap(i, j);
            let report = check(&lay_out(&base, None), &lay_out(&swapped, None));
            prop_assert!(!report.is_compatible(), "swap {} and {}", i, j);
        }

        #[test]
        fn inserting_before_existing_variables_fails(old in prop::collection::vec(any::<u8>(), 1..12), at in any::<prop::sample::Index>(), k in any::<u8>()) {
            let base = vars(&old, "v");
            let mut grown = base.clone();
            grown.insert(at.index(base.len()), ("inserted".into(), k));
            let report = check(&lay_out(&base, None), &lay_out(&grown, None));
            prop_assert!(!report.is_compatible());
        }

        #[test]
        fn a_gap_must_shrink_by_exactly_the_slots_used(old in prop::collection::vec(any::<u8>(), 0..6), extra in prop::collection::vec(4u8..5, 1..5), slack in 0u64..3) {
            // `extra` are uint256s: one slot each.
            let base = vars(&old, "v");
            let mut grown = base.clone();
            grown.extend(vars(&extra, "new"));
            let used = extra.len() as u64;
            let ok = check(&lay_out(&base, Some(10)), &lay_out(&grown, Some(10 - used)));
            prop_assert!(ok.is_compatible(), "{:?}", ok.problems);
            let not_shrunk = check(&lay_out(&base, Some(10)), &lay_out(&grown, Some(10 - used + 1 + slack)));
            let misused = not_shrunk.problems.iter().any(|p| matches!(p.kind, ProblemKind::GapMisused { .. }));
            prop_assert!(misused, "{:?}", not_shrunk.problems);
        }
    }
}
