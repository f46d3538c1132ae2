//! Tornado's verifying key as the live pool's verifier hard-codes it.
//!
//! The constants are those of `contracts/Verifier.sol` in tornadocash/tornado-core (the
//! verifier the live Taonado pool was deployed with; spec/tornado-keys.md). G2 points
//! are written as Solidity writes them, `[x.c1, x.c0], [y.c1, y.c0]` (the pairing
//! precompile's order, imaginary part first).
//!
//! The proving key carries alfa1, beta2 and delta2 too; [`super::TornadoProver`] refuses a
//! key whose points differ from these, and verifies every proof against this key.

use std::sync::OnceLock;

use ark_bn254::{Fq, Fq2, G1Affine, G2Affine};

use crate::{VerifyingKey, ZkError};

/// A G1 point as `(x, y)` decimal strings.
type G1Words = [&'static str; 2];
/// A G2 point as Solidity's `[x.c1, x.c0], [y.c1, y.c0]` decimal strings.
type G2Words = [[&'static str; 2]; 2];

const ALFA1: G1Words = [
    "20692898189092739278193869274495556617788530808486270118371701516666252877969",
    "11713062878292653967971378194351968039596396853904572879488166084231740557279",
];
const BETA2: G2Words = [
    [
        "12168528810181263706895252315640534818222943348193302139358377162645029937006",
        "281120578337195720357474965979947690431622127986816839208576358024608803542",
    ],
    [
        "16129176515713072042442734839012966563817890688785805090011011570989315559913",
        "9011703453772030375124466642203641636825223906145908770308724549646909480510",
    ],
];
const GAMMA2: G2Words = [
    [
        "11559732032986387107991004021392285783925812861821192530917403151452391805634",
        "10857046999023057135944570762232829481370756359578518086990519993285655852781",
    ],
    [
        "4082367875863433681332203403145435568316851327593401208105741076214120093531",
        "8495653923123431417604973247489272438418190587263600148770280649306958101930",
    ],
];
const DELTA2: G2Words = [
    [
        "21280594949518992153305586783242820682644996932183186320680800072133486887432",
        "150879136433974552800030963899771162647715069685890547489132178314736470662",
    ],
    [
        "1081836006956609894549771334721413187913047383331561601606260283167615953295",
        "11434086686358152335540554643130007307617078324975981257823476472104616196090",
    ],
];
const IC: [G1Words; 7] = [
    [
        "16225148364316337376768119297456868908427925829817748684139175309620217098814",
        "5167268689450204162046084442581051565997733233062478317813755636162413164690",
    ],
    [
        "12882377842072682264979317445365303375159828272423495088911985689463022094260",
        "19488215856665173565526758360510125932214252767275816329232454875804474844786",
    ],
    [
        "13083492661683431044045992285476184182144099829507350352128615182516530014777",
        "602051281796153692392523702676782023472744522032670801091617246498551238913",
    ],
    [
        "9732465972180335629969421513785602934706096902316483580882842789662669212890",
        "2776526698606888434074200384264824461688198384989521091253289776235602495678",
    ],
    [
        "8586364274534577154894611080234048648883781955345622578531233113180532234842",
        "21276134929883121123323359450658320820075698490666870487450985603988214349407",
    ],
    [
        "4910628533171597675018724709631788948355422829499855033965018665300386637884",
        "20532468890024084510431799098097081600480376127870299142189696620752500664302",
    ],
    [
        "15335858102289947642505450692012116222827233918185150176888641903531542034017",
        "5311597067667671581646709998171703828965875677637292315055030353779531404812",
    ],
];

fn fq(decimal: &str) -> Result<Fq, ZkError> {
    decimal.parse::<Fq>().map_err(|_| ZkError::BadNumber {
        what: "a Verifier.sol constant",
        input: decimal.to_owned(),
    })
}

fn g1(words: G1Words) -> Result<G1Affine, ZkError> {
    let point = G1Affine::new_unchecked(fq(words[0])?, fq(words[1])?);
    if point.is_on_curve() {
        Ok(point)
    } else {
        Err(ZkError::BadNumber {
            what: "a Verifier.sol G1 point",
            input: format!("{words:?}"),
        })
    }
}

fn g2(words: G2Words) -> Result<G2Affine, ZkError> {
    let [[x1, x0], [y1, y0]] = words;
    let point = G2Affine::new_unchecked(Fq2::new(fq(x0)?, fq(x1)?), Fq2::new(fq(y0)?, fq(y1)?));
    if point.is_on_curve() && point.is_in_correct_subgroup_assuming_on_curve() {
        Ok(point)
    } else {
        Err(ZkError::BadNumber {
            what: "a Verifier.sol G2 point",
            input: format!("{words:?}"),
        })
    }
}

fn parse() -> Result<VerifyingKey, ZkError> {
    Ok(VerifyingKey {
        alpha_g1: g1(ALFA1)?,
        beta_g2: g2(BETA2)?,
        gamma_g2: g2(GAMMA2)?,
        delta_g2: g2(DELTA2)?,
        gamma_abc_g1: IC.into_iter().map(g1).collect::<Result<_, _>>()?,
    })
}

/// Tornado's verifying key, as the live pool's `Verifier.sol` has it.
pub fn tornado_verifying_key() -> &'static VerifyingKey {
    static KEY: OnceLock<VerifyingKey> = OnceLock::new();
    KEY.get_or_init(|| {
        // Constants of this file, parsed and checked on the curve by a unit test.
        parse().expect("Verifier.sol constants are valid points")
    })
}

/// Whether `key` is Tornado's (the live pool's verifier key).
pub fn is_tornado_verifying_key(key: &VerifyingKey) -> bool {
    key == tornado_verifying_key()
}

#[cfg(test)]
mod tests {
    use ark_ec::AffineRepr;

    use super::*;

    #[test]
    fn the_constants_are_valid_points_and_gamma_is_the_g2_generator() {
        let key = parse().expect("valid");
        assert_eq!(key.gamma_abc_g1.len(), 7);
        // snarkjs 0.1 set γ = 1, so gamma2 is G2's generator: a check of the word order.
        assert_eq!(key.gamma_g2, G2Affine::generator());
        assert!(is_tornado_verifying_key(&key));
        let mut other = key.clone();
        other.gamma_abc_g1[6] = G1Affine::generator();
        assert!(!is_tornado_verifying_key(&other));
    }
}
