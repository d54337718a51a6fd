import numpy as np
import pytest
from pymatgen.core import Lattice, Structure
from pymatgen.io.cif import CifFile

from molgnn.chem.crystal import crystal_from_structure, parse_cif_text, read_cif
from molgnn.chem.errors import InvalidStructureError, PartialOccupancyError, UnknownElementError

P1_HEADER = """data_test
_cell_length_a 5.0
_cell_length_b 5.0
_cell_length_c 5.0
_cell_angle_alpha 90
_cell_angle_beta 90
_cell_angle_gamma 90
"""


def _write(tmp_path, text, name="x.cif"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_symmetry_expansion_matches_pymatgen_on_cgcnn_sample(data_dir):
    for path in sorted((data_dir / "cgcnn-sample").glob("*.cif")):
        crystal = read_cif(path)
        reference = Structure.from_file(path)
        assert sorted(crystal.numbers.tolist()) == sorted(site.specie.Z for site in reference), path.name
        assert np.allclose(np.abs(np.linalg.det(crystal.lattice)), reference.volume, rtol=1e-6)
        assert crystal.id == path.stem


def test_charges_equal_the_cif_column(crafted):
    path = crafted / "ABUWOJ.cif"
    block = next(iter(CifFile.from_file(path).data.values()))
    expected = np.array([float(v) for v in block.data["_atom_site_charge"]])
    crystal = read_cif(path)
    np.testing.assert_array_equal(crystal.charges, expected)
    assert len(crystal) == 224 and abs(crystal.charges.sum()) < 1e-3


def test_coordinates_outside_the_cell_are_wrapped(data_dir):
    path = data_dir / "hmof100" / "cif" / "hMOF-1000268.cif"
    crystal = read_cif(path)
    assert crystal.frac.min() >= 0 and crystal.frac.max() < 1
    assert crystal.charges is None


def test_pymatgen_structure_with_charges():
    structure = Structure(Lattice.cubic(4.0), ["Na", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]],
                          site_properties={"charge": [0.9, -0.9]})
    crystal = crystal_from_structure(structure, "nacl")
    assert crystal.numbers.tolist() == [11, 17]
    np.testing.assert_allclose(crystal.charges, [0.9, -0.9])


@pytest.mark.parametrize(
    "text, error, reason",
    [
        ("", InvalidStructureError, "no _atom_site_fract_x"),
        ("data_x\n_cell_length_a 5\nloop_\n_atom_site_label\n_atom_site_fract_x\n_atom_site_fract_y\n_atom_site_fract_z\n"
         "C1 0 0 0\n", InvalidStructureError, "_cell_length_b"),
        ("this is not a CIF", InvalidStructureError, "cannot read CIF"),
        (P1_HEADER + "loop_\n_atom_site_label\n_atom_site_fract_x\n_atom_site_fract_y\n_atom_site_fract_z\nC1 0.1 0.2",
         InvalidStructureError, "cannot read CIF"),  # truncated mid-row
        (P1_HEADER + "loop_\n_atom_site_label\n_atom_site_fract_x\n_atom_site_fract_y\n_atom_site_fract_z\nXx1 0 0 0\n",
         UnknownElementError, "unknown element symbol"),
        (P1_HEADER + "loop_\n_atom_site_label\n_atom_site_fract_x\n_atom_site_fract_y\n_atom_site_fract_z\n"
         "_atom_site_occupancy\nC1 0 0 0 0.5\nN1 0.5 0.5 0.5 1.0\n", PartialOccupancyError, r"C1 \(0.5\)"),
        (P1_HEADER + "loop_\n_atom_site_label\n_atom_site_fract_x\n_atom_site_fract_y\n_atom_site_fract_z\nC1 0 ? 0\n",
         InvalidStructureError, "_atom_site_fract_y"),
    ],
    ids=["empty", "no-cell", "garbage", "truncated", "unknown-element", "partial-occupancy", "missing-coordinate"],
)
def test_bad_cif_raises_typed_error_naming_the_file(tmp_path, text, error, reason):
    path = _write(tmp_path, text, "broken.cif")
    with pytest.raises(error, match=reason) as caught:
        read_cif(path)
    assert caught.value.input_id == "broken"


def test_missing_file_is_a_typed_error(tmp_path):
    with pytest.raises(InvalidStructureError, match="cannot read CIF"):
        read_cif(tmp_path / "absent.cif")


def test_element_read_from_label_when_no_type_symbol(tmp_path):
    text = P1_HEADER + ("loop_\n_atom_site_label\n_atom_site_fract_x\n_atom_site_fract_y\n_atom_site_fract_z\n"
                        "Zn1 0 0 0\nCL2 0.5 0.5 0.5\nC3 0.25 0.25 0.25\n")
    assert read_cif(_write(tmp_path, text)).numbers.tolist() == [30, 17, 6]


def test_unquoted_space_group_name_as_ase_writes_it(tmp_path, data_dir):
    original = data_dir / "hmof100" / "cif" / "hMOF-1000268.cif"
    text = original.read_text().replace("_symmetry_space_group_name_H-M\t'P1'", "_symmetry_space_group_name_H-M    P 1")
    assert "H-M    P 1\n" in text
    reference = read_cif(original)
    for crystal in (read_cif(_write(tmp_path, text)), parse_cif_text(text, "x")):
        np.testing.assert_array_equal(crystal.numbers, reference.numbers)
        np.testing.assert_allclose(crystal.frac, reference.frac)


def test_cif_cut_at_a_row_boundary_is_refused_against_its_declared_formula(crafted):
    text = (crafted / "ABUWOJ.cif").read_text()
    assert len(parse_cif_text(text, "whole")) == 224
    cut = "".join(text.splitlines(keepends=True)[:41])
    with pytest.raises(InvalidStructureError, match=r"do not make the declared _chemical_formula_sum .*truncated"):
        parse_cif_text(cut, "cut")


@pytest.mark.parametrize("declared, accepted", [
    ("_chemical_formula_sum 'Na Cl'\n_cell_formula_units_Z 2\n", True),  # the formula unit, twice in the cell
    ("_chemical_formula_sum 'Na2 Cl2'\n_cell_formula_units_Z 2\n", True),  # the whole cell (as pymatgen writes it)
    ("_chemical_formula_sum 'Na Cl'\n", True),  # no Z: a whole number of formula units
    ("_chemical_formula_sum 'Na Cl2'\n", False),
    ("_chemical_formula_moiety 'Na+, Cl-'\n_cell_formula_units_Z 2\n", True),
    ("_chemical_formula_moiety '2(Na Cl)'\n", True),
    ("_chemical_formula_moiety 'Na+, 2(Cl-)'\n_cell_formula_units_Z 2\n", False),
    ("_chemical_formula_sum ?\n", True),  # nothing declared: nothing to check against
])
def test_declared_formula_or_moiety_must_match_the_atoms(tmp_path, declared, accepted):
    text = P1_HEADER + declared + ("loop_\n_atom_site_type_symbol\n_atom_site_fract_x\n_atom_site_fract_y\n_atom_site_fract_z\n"
                                   "Na 0 0 0\nNa 0.5 0.5 0\nCl 0.5 0 0\nCl 0 0.5 0\n")
    if accepted:
        assert len(read_cif(_write(tmp_path, text))) == 4
    else:
        with pytest.raises(InvalidStructureError, match="do not make the declared"):
            read_cif(_write(tmp_path, text))


def test_cif_with_a_byte_order_mark_is_read(tmp_path, data_dir):
    text = (data_dir / "cgcnn-sample" / "1000041.cif").read_text()
    path = tmp_path / "bom.cif"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode())
    expected = len(read_cif(data_dir / "cgcnn-sample" / "1000041.cif"))
    assert len(read_cif(path)) == len(parse_cif_text("\ufeff" + text, "bom")) == expected


def test_cif_with_several_structures_is_refused_naming_its_blocks(data_dir):
    text = (data_dir / "cgcnn-sample" / "1000041.cif").read_text()
    with pytest.raises(InvalidStructureError, match="2 structures .*'1000041', 'second'"):
        parse_cif_text(text + "\n" + text.replace("data_1000041", "data_second"), "two")


def test_unknown_element_is_named_as_written(tmp_path):
    text = P1_HEADER + "loop_\n_atom_site_label\n_atom_site_fract_x\n_atom_site_fract_y\n_atom_site_fract_z\nXx1 0 0 0\n"
    with pytest.raises(UnknownElementError, match="unknown element symbol 'Xx'"):
        read_cif(_write(tmp_path, text))
